import 'reflect-metadata'; // @peculiar/x509 resolves its ASN.1 schemas through tsyringe, which needs it
import { webcrypto, type KeyObject } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import type * as Peculiar from '@peculiar/x509';

/** What ./x509.worker.ts reads: the key pair as base64 DER, the certificate's name and validity (epoch ms). */
export interface CertificateJob {
  privateKey: string;
  publicKey: string;
  commonName: string;
  notBefore: number;
  notAfter: number;
}

/**
 * `selfSignedCertificate` in a child process (./x509.worker.ts) that exits once it is made, so the
 * gateway never loads @peculiar/x509: loaded, it stayed ~15 MiB of resident memory for good, and
 * the one start that makes a key (the first of a deployment) peaked that much higher while loading
 * the fleet. A worker thread kept more (~28 MiB: its freed memory stays in its malloc arena). The
 * job goes through the child's stdin, never its arguments or environment. Run from the sources (the
 * unit tests: no built script), it runs in this process.
 */
export async function certificateInChild(privateKey: KeyObject, publicKey: KeyObject, commonName: string, notBefore: Date, notAfter: Date): Promise<string> {
  const script = fileURLToPath(new URL('./x509.worker.js', import.meta.url));
  if (!existsSync(script)) return selfSignedCertificate(privateKey, publicKey, commonName, notBefore, notAfter);
  const job: CertificateJob = {
    privateKey: privateKey.export({ type: 'pkcs8', format: 'der' }).toString('base64'),
    publicKey: publicKey.export({ type: 'spki', format: 'der' }).toString('base64'),
    commonName,
    notBefore: notBefore.getTime(),
    notAfter: notAfter.getTime(),
  };
  // No environment and none of the gateway's node options: the child needs neither.
  const child = spawn(process.execPath, [script], { env: {}, stdio: ['pipe', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (b: Buffer) => out.push(b));
  child.stderr.on('data', (b: Buffer) => err.push(b));
  // A child that ended before reading its job (EPIPE): its exit code says so below.
  child.stdin.on('error', () => undefined);
  child.stdin.end(JSON.stringify(job));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  try {
    const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
    const pem = Buffer.concat(out).toString('utf8');
    if (code !== 0 || !pem.startsWith('-----BEGIN CERTIFICATE-----'))
      throw new Error(`the certificate process failed (${signal ?? `exit code ${code}`}): ${redacted(Buffer.concat(err).toString('utf8'))}`);
    return pem;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * What the certificate process printed, for an error message: its first 200 characters, with any
 * run of 24 or more base64 characters taken out. The process prints only an error's kind, but Node
 * prints a crash of its own (an import that fails) with source text, and the job holds the key.
 */
export function redacted(text: string): string {
  return text.slice(0, 200).replace(/[A-Za-z0-9+/=_-]{24,}/g, '[…]');
}

/** @peculiar/x509, loaded when a certificate is first made in this process (the child's, or a test's). */
let peculiar: Promise<typeof Peculiar> | undefined;
const x509 = () =>
  (peculiar ??= import('@peculiar/x509').then((m) => {
    m.cryptoProvider.set(webcrypto as unknown as Parameters<typeof m.cryptoProvider.set>[0]);
    return m;
  }));

const RSA_SHA256 = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as const;

/**
 * A self-signed X.509 certificate around a signing key (RSA, SHA-256), so
 * `/cdn-cgi/access/certs` can publish `public_cert` in PEM as Cloudflare does. The DER is
 * @peculiar/x509's, not ours: ASN.1 mistakes fail silently in relying parties.
 */
export async function selfSignedCertificate(privateKey: KeyObject, publicKey: KeyObject, commonName: string, notBefore: Date, notAfter: Date): Promise<string> {
  const subtle = webcrypto.subtle;
  const keys = {
    privateKey: await subtle.importKey('pkcs8', privateKey.export({ type: 'pkcs8', format: 'der' }), RSA_SHA256, false, ['sign']),
    publicKey: await subtle.importKey('spki', publicKey.export({ type: 'spki', format: 'der' }), RSA_SHA256, true, ['verify']),
  };
  const { X509CertificateGenerator } = await x509();
  const cert = await X509CertificateGenerator.createSelfSigned({
    name: [{ CN: [commonName] }],
    notBefore,
    notAfter,
    signingAlgorithm: RSA_SHA256,
    keys,
  });
  return `${cert.toString('pem')}\n`;
}
