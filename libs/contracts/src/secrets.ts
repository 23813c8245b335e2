import { createHash, createHmac, hash, randomBytes, timingSafeEqual } from 'node:crypto';
import { crc32 as zlibCrc32 } from 'node:zlib';

/**
 * Service-token credential formats, shared by the token service (which issues and stores them)
 * and the gateway (which verifies them).
 *
 * Secret: `gatehouse_` + 43 base62 characters (256 bits from the CSPRNG) + 6 base62 characters
 * of CRC-32 over the random part. The fixed prefix and the checksum let secret scanners find
 * leaked secrets with few false positives (`isWellFormedSecret`). The gateway does not call it:
 * one HMAC of the presented secret costs less than the base-62 checksum, and the HMAC comparison
 * refuses garbage all the same.
 */
export const SECRET_PREFIX = 'gatehouse_';
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const BODY_LENGTH = 43; // ceil(256 / log2(62))
const CHECK_LENGTH = 6; // ceil(32 / log2(62))
export const SECRET_LENGTH = SECRET_PREFIX.length + BODY_LENGTH + CHECK_LENGTH;
export const SECRET_PATTERN = /^gatehouse_[0-9A-Za-z]{49}$/;
export const CLIENT_ID_PATTERN = /^[0-9a-f]{32}\.access$/;

function toBase62(value: bigint, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) {
    out = BASE62[Number(value % 62n)] + out;
    value /= 62n;
  }
  return out;
}

/** CRC-32 (IEEE, as zlib and PNG use it) of the text's UTF-8 bytes. */
export function crc32(text: string): number {
  return zlibCrc32(text);
}

export function generateClientSecret(): string {
  const body = toBase62(BigInt('0x' + randomBytes(32).toString('hex')), BODY_LENGTH);
  return SECRET_PREFIX + body + toBase62(BigInt(crc32(body)), CHECK_LENGTH);
}

/** True when the text has our secret's shape and its checksum matches (cheap; no hashing). */
export function isWellFormedSecret(secret: string): boolean {
  if (secret.length !== SECRET_LENGTH || !SECRET_PATTERN.test(secret)) return false;
  const body = secret.slice(SECRET_PREFIX.length, SECRET_PREFIX.length + BODY_LENGTH);
  const check = secret.slice(SECRET_PREFIX.length + BODY_LENGTH);
  return toBase62(BigInt(crc32(body)), CHECK_LENGTH) === check;
}

export function generateClientId(): string {
  return randomBytes(16).toString('hex') + '.access';
}

/**
 * The stored form of a secret: HMAC-SHA256 under a server-side key, hex encoded.
 *
 * Why a fast keyed hash and not bcrypt/argon2: those slow hashes exist to protect low-entropy
 * passwords from guessing. Our secrets carry 256 random bits, so guessing is hopeless at any
 * speed, and a slow hash would only cost the gateway ~100 ms of CPU per exchange. The key (kept
 * outside the database) means a stolen database dump alone cannot even confirm a guessed secret.
 */
export function hashClientSecret(key: string | Buffer, secret: string): string {
  return clientSecretDigest(key, secret).toString('hex');
}

/** Constant-time comparison of a presented secret with a stored hash. */
export function secretMatchesHash(key: string | Buffer, secret: string, storedHash: string): boolean {
  return digestMatchesHash(clientSecretDigest(key, secret), storedHash);
}

/** The raw HMAC of a presented secret: hash it once, compare it with several stored hashes. */
export function clientSecretDigest(key: string | Buffer, secret: string): Buffer {
  return createHmac('sha256', key).update(secret, 'utf8').digest();
}

const BLOCK = 64; // SHA-256's block size
const ROOM = 256; // message bytes the digester's buffer holds; longer input takes createHmac

/**
 * clientSecretDigest for one fixed key, for the gateway's hot path: HMAC-SHA256 as RFC 2104 defines
 * it, H((K ^ opad) || H((K ^ ipad) || m)), with the padded keys computed once and two one-shot
 * SHA-256 calls per secret. Same bytes as createHmac (tested), without creating an Hmac object and
 * importing the key on every call, which cost more than the hashing itself. Not re-entrant across
 * threads (one buffer), which a Node.js event loop never is.
 */
export class SecretDigester {
  private readonly inner = Buffer.alloc(BLOCK + ROOM);
  private readonly outer = Buffer.alloc(BLOCK + 32);

  constructor(private readonly key: string | Buffer) {
    let k = typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
    if (k.length > BLOCK) k = createHash('sha256').update(k).digest();
    for (let i = 0; i < BLOCK; i++) {
      const b = i < k.length ? k[i]! : 0;
      this.inner[i] = b ^ 0x36;
      this.outer[i] = b ^ 0x5c;
    }
  }

  digest(secret: string): Buffer {
    // Up to 64 UTF-16 units are at most 192 UTF-8 bytes: they always fit. Longer input (never a
    // well-formed secret) takes the general path.
    if (secret.length > ROOM / 4) return clientSecretDigest(this.key, secret);
    const n = this.inner.write(secret, BLOCK, 'utf8');
    hash('sha256', this.inner.subarray(0, BLOCK + n), 'buffer').copy(this.outer, BLOCK);
    return hash('sha256', this.outer, 'buffer');
  }
}

/** Constant-time comparison of a digest (clientSecretDigest) with a stored hex hash. */
export function digestMatchesHash(digest: Buffer, storedHash: string): boolean {
  const stored = Buffer.from(storedHash, 'hex');
  return digest.length === stored.length && timingSafeEqual(digest, stored);
}
