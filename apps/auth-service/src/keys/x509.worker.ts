/**
 * Makes one certificate (./x509.ts) in a process of its own and writes its PEM to stdout: the
 * gateway never loads @peculiar/x509 (see `certificateInChild`). It reads one JSON job from stdin
 * (`CertificateJob`, the key pair as base64 DER: the private key passes only through that pipe).
 */
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { selfSignedCertificate, type CertificateJob } from './x509.js';

try {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const job = JSON.parse(Buffer.concat(chunks).toString('utf8')) as CertificateJob;
  const pem = await selfSignedCertificate(
    createPrivateKey({ key: Buffer.from(job.privateKey, 'base64'), format: 'der', type: 'pkcs8' }),
    createPublicKey({ key: Buffer.from(job.publicKey, 'base64'), format: 'der', type: 'spki' }),
    job.commonName,
    new Date(job.notBefore),
    new Date(job.notAfter),
  );
  process.stdout.write(pem);
} catch (error) {
  // The error's kind only: a message or a stack may quote the job, and the job holds the key
  // (JSON.parse's message includes the text around the fault).
  const { name, code } = error as { name?: unknown; code?: unknown };
  const kind = typeof name === 'string' ? name : 'Error';
  process.stderr.write(`${kind}${typeof code === 'string' ? ` (${code})` : ''}\n`);
  process.exitCode = 1;
}
