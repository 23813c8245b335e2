import { randomBytes, sign, type KeyObject } from 'node:crypto';

/**
 * A minimal DER encoder for one thing: a self-signed X.509 certificate (v1, RSA, SHA-256) around
 * a signing key, so `/cdn-cgi/access/certs` can publish `public_cert` in PEM as Cloudflare does.
 */
function der(tag: number, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  const len = body.length;
  let header: Buffer;
  if (len < 0x80) header = Buffer.from([tag, len]);
  else {
    const bytes: number[] = [];
    for (let n = len; n > 0; n >>= 8) bytes.unshift(n & 0xff);
    header = Buffer.from([tag, 0x80 | bytes.length, ...bytes]);
  }
  return Buffer.concat([header, body]);
}

function oid(text: string): Buffer {
  const arcs = text.split('.').map(Number);
  const out: number[] = [40 * arcs[0]! + arcs[1]!];
  for (const arc of arcs.slice(2)) {
    const chunk: number[] = [arc & 0x7f];
    for (let n = arc >>> 7; n > 0; n >>>= 7) chunk.unshift((n & 0x7f) | 0x80);
    out.push(...chunk);
  }
  return der(0x06, Buffer.from(out));
}

function time(date: Date): Buffer {
  const iso = date.toISOString().replace(/[-:T]/g, '').slice(0, 14); // YYYYMMDDHHMMSS
  const year = date.getUTCFullYear();
  return year >= 1950 && year < 2050 ? der(0x17, Buffer.from(iso.slice(2) + 'Z')) : der(0x18, Buffer.from(iso + 'Z'));
}

const SHA256_WITH_RSA = der(0x30, oid('1.2.840.113549.1.1.11'), der(0x05));

function name(commonName: string): Buffer {
  return der(0x30, der(0x31, der(0x30, oid('2.5.4.3'), der(0x0c, Buffer.from(commonName, 'utf8')))));
}

export function selfSignedCertificate(privateKey: KeyObject, publicKey: KeyObject, commonName: string, notBefore: Date, notAfter: Date): string {
  const serial = randomBytes(16);
  // A positive INTEGER in its shortest form (DER): a first byte of 0x40–0x7f. `& 0x7f` alone
  // left a leading 0x00 now and then, which parsers refuse ("illegal padding").
  serial[0] = (serial[0]! & 0x3f) | 0x40;
  const tbs = der(
    0x30,
    der(0x02, serial),
    SHA256_WITH_RSA,
    name(commonName),
    der(0x30, time(notBefore), time(notAfter)),
    name(commonName),
    publicKey.export({ type: 'spki', format: 'der' }),
  );
  const signature = sign('sha256', tbs, privateKey);
  const cert = der(0x30, tbs, SHA256_WITH_RSA, der(0x03, Buffer.from([0]), signature));
  const b64 = cert.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '');
  return `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`;
}
