import { createHmac } from 'node:crypto';
import { SecretBox } from './secret-box.js';
import { signWebhook, verifyWebhookSignature } from './signature.js';

describe('webhook signatures', () => {
  const secret = 'whsec_0123456789abcdef';
  const body = '{"hello":"world"}';

  it('is HMAC-SHA256 over "<t>.<body>" in the t=…,v1=… form', () => {
    const header = signWebhook(secret, body, 1_800_000_000);
    const mac = createHmac('sha256', secret).update(`1800000000.${body}`).digest('hex');
    expect(header).toBe(`t=1800000000,v1=${mac}`);
  });

  it('verifies the right secret and body only, within the tolerance', () => {
    const header = signWebhook(secret, body, 1_800_000_000);
    expect(verifyWebhookSignature(secret, header, body, { nowSeconds: 1_800_000_010 })).toBe(true);
    expect(verifyWebhookSignature('whsec_other_secret_xx', header, body, { nowSeconds: 1_800_000_010 })).toBe(false);
    expect(verifyWebhookSignature(secret, header, body + ' ', { nowSeconds: 1_800_000_010 })).toBe(false);
    expect(verifyWebhookSignature(secret, header, body, { nowSeconds: 1_800_001_000 })).toBe(false);
    expect(verifyWebhookSignature(secret, 't=1800000000,v1=zz', body, { nowSeconds: 1_800_000_000 })).toBe(false);
    expect(verifyWebhookSignature(secret, undefined, body)).toBe(false);
  });
});

describe('SecretBox', () => {
  it('round-trips, never stores the plaintext, and refuses another key or tampering', () => {
    const box = new SecretBox('k'.repeat(64));
    const sealed = box.seal('whsec_top_secret_value');
    expect(sealed).not.toContain('whsec_top_secret_value');
    expect(box.open(sealed)).toBe('whsec_top_secret_value');
    expect(box.seal('same')).not.toBe(box.seal('same'));
    expect(() => new SecretBox('j'.repeat(64)).open(sealed)).toThrow();
    const parts = sealed.split('.');
    parts[3] = Buffer.from('tampered').toString('base64url');
    expect(() => box.open(parts.join('.'))).toThrow();
  });
});
