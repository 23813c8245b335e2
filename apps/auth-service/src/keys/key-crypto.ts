import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

/**
 * Private signing keys are stored encrypted (AES-256-GCM, the kid as associated data) under a key
 * derived with HKDF-SHA256 from GATEHOUSE_KEY_ENCRYPTION_KEY, or from GATEHOUSE_HASH_KEY when that
 * is unset. A database dump alone cannot sign JWTs.
 */
export function deriveEncryptionKey(secret: string): Buffer {
  return Buffer.from(hkdfSync('sha256', Buffer.from(secret, 'utf8'), 'gatehouse/signing-keys', 'aes-256-gcm/v1', 32));
}

export function encryptPrivateKey(key: Buffer, kid: string, plaintext: Buffer): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(kid, 'utf8'));
  const ct = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return ['v1', iv.toString('base64'), cipher.getAuthTag().toString('base64'), ct.toString('base64')].join(':');
}

export function decryptPrivateKey(key: Buffer, kid: string, sealed: string): Buffer {
  const [version, iv, tag, ct] = sealed.split(':');
  if (version !== 'v1' || !iv || !tag || !ct) throw new Error(`Signing key ${kid}: unknown storage format`);
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64'));
  decipher.setAAD(Buffer.from(kid, 'utf8'));
  decipher.setAuthTag(Buffer.from(tag, 'base64'));
  try {
    return Buffer.concat([decipher.update(Buffer.from(ct, 'base64')), decipher.final()]);
  } catch {
    throw new Error(`Signing key ${kid} cannot be decrypted: wrong GATEHOUSE_KEY_ENCRYPTION_KEY / GATEHOUSE_HASH_KEY?`);
  }
}
