import { X509Certificate, generateKeyPairSync } from 'node:crypto';
import { selfSignedCertificate } from './x509.js';

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
