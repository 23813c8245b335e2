import 'reflect-metadata'; // @peculiar/x509 resolves its ASN.1 schemas through tsyringe, which needs it
import { webcrypto, type KeyObject } from 'node:crypto';
import type * as Peculiar from '@peculiar/x509';

/**
 * @peculiar/x509, loaded when a certificate is first made (a new signing key: at the first start,
 * then once per rotation). Loaded at start it was ~9 MiB of every gateway's resident memory, held
 * for a module most processes never call.
 */
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
