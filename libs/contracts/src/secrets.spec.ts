import { createHmac, randomBytes } from 'node:crypto';
import {
  CLIENT_ID_PATTERN,
  SECRET_LENGTH,
  SecretDigester,
  clientSecretDigest,
  crc32,
  digestMatchesHash,
  generateClientId,
  generateClientSecret,
  hashClientSecret,
  isWellFormedSecret,
  secretMatchesHash,
} from './secrets.js';

describe('client secrets', () => {
  it('are prefixed, checksummed and unique', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const s = generateClientSecret();
      expect(s).toHaveLength(SECRET_LENGTH);
      expect(s.startsWith('gatehouse_')).toBe(true);
      expect(isWellFormedSecret(s)).toBe(true);
      seen.add(s);
    }
    expect(seen.size).toBe(200);
  });

  it('checksum with the standard CRC-32 (IEEE), so outside scanners can verify it', () => {
    expect(crc32('123456789')).toBe(0xcbf43926);
    expect(crc32('')).toBe(0);
    expect(crc32('é')).toBe(0x0e048d3e); // over UTF-8 bytes
  });

  it('detect a damaged checksum or body', () => {
    const s = generateClientSecret();
    const flip = (i: number) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
    expect(isWellFormedSecret(flip(20))).toBe(false);
    expect(isWellFormedSecret(flip(s.length - 1))).toBe(false);
    expect(isWellFormedSecret(s.slice(1))).toBe(false);
    expect(isWellFormedSecret('')).toBe(false);
  });

  it('are stored as keyed hashes that only the same key and secret match', () => {
    const s = generateClientSecret();
    const key = 'k'.repeat(32);
    const hash = hashClientSecret(key, s);
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(hash).not.toContain(s);
    expect(secretMatchesHash(key, s, hash)).toBe(true);
    expect(secretMatchesHash('x'.repeat(32), s, hash)).toBe(false);
    expect(secretMatchesHash(key, generateClientSecret(), hash)).toBe(false);
    expect(secretMatchesHash(key, s, 'abcd')).toBe(false);
    // The gateway hashes once and compares with the current and the previous hash.
    const digest = clientSecretDigest(key, s);
    expect(digest.toString('hex')).toBe(hash);
    expect(digestMatchesHash(digest, hash)).toBe(true);
    expect(digestMatchesHash(digest, hashClientSecret(key, generateClientSecret()))).toBe(false);
    expect(digestMatchesHash(digest, '')).toBe(false);
  });

  it('SecretDigester computes exactly the HMAC-SHA256 that createHmac does, for any key and input', () => {
    const keys: Array<string | Buffer> = ['k'.repeat(32), 'h'.repeat(64), 'x'.repeat(65), 'short', '', 'clé-ünïcode', randomBytes(64), randomBytes(100)];
    const inputs = [
      '',
      'a',
      generateClientSecret(),
      generateClientSecret(),
      'ünïcødé 🔑',
      'x'.repeat(63),
      'y'.repeat(64),
      'z'.repeat(252),
      'w'.repeat(253),
      'v'.repeat(256),
      '€'.repeat(64),
      '€'.repeat(65),
      '𝄞'.repeat(32),
      '𝄞'.repeat(33),
      '𝄞'.repeat(70),
      'q'.repeat(5000),
    ];
    for (const key of keys) {
      const d = new SecretDigester(key);
      for (const input of inputs) {
        expect(d.digest(input).toString('hex')).toBe(createHmac('sha256', key).update(input, 'utf8').digest('hex'));
      }
      // Reusing the buffer leaves nothing of a longer input behind.
      expect(d.digest('a').toString('hex')).toBe(createHmac('sha256', key).update('a', 'utf8').digest('hex'));
    }
  });

  it('SecretDigester matches createHmac for lone surrogates, mixed widths at 80 and 81 units, and a digest kept across calls', () => {
    const key = randomBytes(32);
    const d = new SecretDigester(key);
    const hmac = (s: string) => createHmac('sha256', key).update(s, 'utf8').digest('hex');
    const pieces = ['a', 'é', '€', '𝄞', '\ud800', '\udc00', '\udc00\ud800'];
    for (let i = 0; i < 2000; i++) {
      let s = '';
      const units = 1 + (i % 81);
      while (s.length < units) s += pieces[(i * 7 + s.length * 13) % pieces.length];
      s = s.slice(0, units);
      expect(d.digest(s).toString('hex')).toBe(hmac(s));
    }
    for (const s of ['\ud800'.repeat(80), '\udfff'.repeat(81), '€'.repeat(80), '€'.repeat(81), 'a'.repeat(79) + '\ud83d'])
      expect(d.digest(s).toString('hex')).toBe(hmac(s));
    // A returned digest is the caller's own: a later call does not overwrite it.
    const first = d.digest('one');
    d.digest('two');
    expect(first.toString('hex')).toBe(hmac('one'));
  });

  it('SecretDigester matches createHmac at every input length around its block and buffer edges, for random keys', () => {
    for (const keyLength of [0, 1, 31, 32, 63, 64, 65, 200]) {
      const key = randomBytes(keyLength);
      const d = new SecretDigester(key);
      for (let length = 0; length <= 90; length++) {
        // ASCII (one byte per unit), then 2- and 3-byte UTF-8 characters: 1 to 3 blocks after the key's.
        for (const unit of ['a', 'é', '€']) {
          const input = randomBytes(length)
            .toString('base64')
            .slice(0, length)
            .replace(/./g, (c, i: number) => (i % 3 === 0 ? c : unit));
          expect(d.digest(input).equals(createHmac('sha256', key).update(input, 'utf8').digest())).toBe(true);
        }
      }
      // A lone surrogate is encoded as U+FFFD by both.
      expect(d.digest('a\ud800b').equals(createHmac('sha256', key).update('a\ud800b', 'utf8').digest())).toBe(true);
    }
  });

  it('SecretDigester returns a digest of its own each call (not a shared buffer)', () => {
    const d = new SecretDigester('k'.repeat(32));
    const first = d.digest('one');
    const copy = Buffer.from(first);
    d.digest('two');
    expect(first.equals(copy)).toBe(true);
  });

  it('client ids are 32 hex characters and .access', () => {
    expect(generateClientId()).toMatch(CLIENT_ID_PATTERN);
  });
});
