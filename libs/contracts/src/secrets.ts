import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
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
const ROOM = 256; // message bytes the digester's buffer holds, padding included
const MAX_UNITS = 80; // longest input (UTF-16 units) the digester hashes itself; longer takes createHmac

/** SHA-256's round constants and initial state (FIPS 180-4 §4.2.2, §5.3.3). */
const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74,
  0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d,
  0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e,
  0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5,
  0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);
const IV = new Int32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);

/** The message schedule; its first 16 words are the block being compressed. */
const W = new Int32Array(64);

/** W[0..15] = the 64-byte block of `bytes` at `at`, as big-endian words. */
function loadBlock(bytes: Uint8Array, at: number): void {
  for (let t = 0; t < 16; t++, at += 4) W[t] = (bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!;
}

/**
 * SHA-256's compression function (FIPS 180-4 §6.2.2) of the block in W[0..15] into `state`. Only
 * 32-bit arithmetic and no table indexed by the data: its time does not depend on what it hashes.
 */
function compress(state: Int32Array): void {
  for (let t = 16; t < 64; t++) {
    const x = W[t - 15]!;
    const y = W[t - 2]!;
    const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
    const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
    W[t] = (W[t - 16]! + s0 + W[t - 7]! + s1) | 0;
  }
  let a = state[0]!;
  let b = state[1]!;
  let c = state[2]!;
  let d = state[3]!;
  let e = state[4]!;
  let f = state[5]!;
  let g = state[6]!;
  let h = state[7]!;
  for (let t = 0; t < 64; t++) {
    const s1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const t1 = (h + s1 + ((e & f) ^ (~e & g)) + K[t]! + W[t]!) | 0;
    const s0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const t2 = (s0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  state[0] = (state[0]! + a) | 0;
  state[1] = (state[1]! + b) | 0;
  state[2] = (state[2]! + c) | 0;
  state[3] = (state[3]! + d) | 0;
  state[4] = (state[4]! + e) | 0;
  state[5] = (state[5]! + f) | 0;
  state[6] = (state[6]! + g) | 0;
  state[7] = (state[7]! + h) | 0;
}

/**
 * clientSecretDigest for one fixed key, for the gateway's hot path: HMAC-SHA256 as RFC 2104 defines
 * it, H((K ^ opad) || H((K ^ ipad) || m)). Both padded keys are one block each, so the SHA-256
 * states after them are computed once (as OpenSSL's HMAC keeps them); a secret then costs the
 * compression of its own two blocks and of the outer block. One call of Node's one-shot hash() cost
 * ~1.4 µs, nearly all of it in getting to OpenSSL and back, twice per secret; createHmac, which
 * imports the key on every call, ~18 µs. Same bytes as createHmac (tested, every length up to the
 * buffer's and beyond). Not re-entrant across threads (shared buffers), which a Node.js event loop
 * never is.
 */
export class SecretDigester {
  /** The SHA-256 states after the key's inner and outer padded blocks. */
  private readonly innerStart = new Int32Array(IV);
  private readonly outerStart = new Int32Array(IV);
  private readonly state = new Int32Array(8);
  /** The message and its padding (the inner hash's blocks after the key's). */
  private readonly message = Buffer.alloc(ROOM);

  constructor(private readonly key: string | Buffer) {
    let k = typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
    if (k.length > BLOCK) k = createHash('sha256').update(k).digest();
    const inner = Buffer.alloc(BLOCK);
    const outer = Buffer.alloc(BLOCK);
    for (let i = 0; i < BLOCK; i++) {
      const b = i < k.length ? k[i]! : 0;
      inner[i] = b ^ 0x36;
      outer[i] = b ^ 0x5c;
    }
    loadBlock(inner, 0);
    compress(this.innerStart);
    loadBlock(outer, 0);
    compress(this.outerStart);
  }

  digest(secret: string): Buffer {
    // Up to 80 UTF-16 units are at most 240 UTF-8 bytes: with the padding's 9, they always fit.
    // Longer input (never a well-formed secret) takes the general path.
    if (secret.length > MAX_UNITS) return clientSecretDigest(this.key, secret);
    const m = this.message;
    const n = m.write(secret, 0, 'utf8');
    // Padding (FIPS 180-4 §5.1.1): 0x80, zeros, the length in bits of key block + message.
    const end = (n + 9 + BLOCK - 1) & ~(BLOCK - 1);
    m.fill(0, n, end);
    m[n] = 0x80;
    m.writeUInt32BE((BLOCK + n) * 8, end - 4);
    const s = this.state;
    s.set(this.innerStart);
    for (let at = 0; at < end; at += BLOCK) {
      loadBlock(m, at);
      compress(s);
    }
    // The outer hash's one block after the key's: the inner digest, 0x80, zeros, 768 bits.
    for (let t = 0; t < 8; t++) W[t] = s[t]!;
    W[8] = 0x80000000 | 0;
    for (let t = 9; t < 15; t++) W[t] = 0;
    W[15] = (BLOCK + 32) * 8;
    s.set(this.outerStart);
    compress(s);
    const out = Buffer.allocUnsafe(32);
    for (let t = 0; t < 8; t++) out.writeInt32BE(s[t]!, 4 * t);
    return out;
  }
}

/** Constant-time comparison of a digest (clientSecretDigest) with a stored hex hash. */
export function digestMatchesHash(digest: Buffer, storedHash: string): boolean {
  const stored = Buffer.from(storedHash, 'hex');
  return digest.length === stored.length && timingSafeEqual(digest, stored);
}
