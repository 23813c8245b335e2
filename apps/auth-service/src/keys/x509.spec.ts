import { X509Certificate, generateKeyPairSync } from 'node:crypto';
import { redacted, selfSignedCertificate } from './x509.js';

describe('selfSignedCertificate', () => {
  it('always encodes valid DER (a positive serial in its shortest form) that verifies with its key', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const from = new Date('2030-01-01T00:00:00Z');
    const until = new Date('2031-01-01T00:00:00Z');
    for (let i = 0; i < 100; i++) {
      const cert = new X509Certificate(await selfSignedCertificate(privateKey, publicKey, 'team.example.com', from, until));
      expect(cert.verify(publicKey)).toBe(true);
      const serial = cert.serialNumber;
      const leadingZeroNeeded = serial.startsWith('00') ? parseInt(serial.slice(2, 4), 16) >= 0x80 : true;
      expect([serial.length >= 2, leadingZeroNeeded]).toEqual([true, true]);
    }
  });
});

describe('the certificate process’s error text', () => {
  it('keeps no run of base64 that could be key material, and at most 200 characters', () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const der = privateKey.export({ type: 'pkcs8', format: 'der' }).toString('base64');
    const crash = `<anonymous_script>:1\n{"privateKey":"${der}","publicKey":"…"}\nSyntaxError: Unexpected end of JSON input`;
    const text = redacted(crash);
    expect(text.length).toBeLessThanOrEqual(200);
    for (let i = 0; i + 24 <= der.length; i += 8) expect(text).not.toContain(der.slice(i, i + 24));
    expect(redacted('SyntaxError\n')).toBe('SyntaxError\n');
  });
});
