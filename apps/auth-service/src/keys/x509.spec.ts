import { X509Certificate, generateKeyPairSync } from 'node:crypto';
import { selfSignedCertificate } from './x509.js';

describe('selfSignedCertificate', () => {
  it('always encodes valid DER (the serial in its shortest positive form) that verifies with its key', () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const from = new Date('2030-01-01T00:00:00Z');
    const until = new Date('2031-01-01T00:00:00Z');
    for (let i = 0; i < 100; i++) {
      const cert = new X509Certificate(selfSignedCertificate(privateKey, publicKey, 'team.example.com', from, until));
      expect(cert.verify(publicKey)).toBe(true);
      const first = parseInt(cert.serialNumber.slice(0, 2), 16);
      expect([cert.serialNumber.length, first >= 0x40 && first <= 0x7f]).toEqual([32, true]);
    }
  });
});
