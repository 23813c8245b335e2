import { createPublicKey } from 'node:crypto';
import type pg from 'pg';
import { deriveEncryptionKey } from './key-crypto.js';
import { KeyRing, generateSigningKey, type KeyGenerator, type NewSigningKey, type SigningKeyRow } from './key-ring.js';

const DAY = 86_400_000;
const ISSUER = 'https://team.example.com';
const KEK = deriveEncryptionKey('k'.repeat(64));
/** Smaller keys than the gateway's 2048 bits: the same code paths, a fraction of the CPU. */
const TEST_BITS = 1024;

/** A stand-in for the pg pool: the signing_keys table in memory, and every statement in order. */
function fakePool(rows: SigningKeyRow[] = []) {
  const log: string[] = [];
  const run = async (sql: string, params: unknown[] = []) => {
    const verb = sql.split(' ')[0]!;
    log.push(sql.startsWith('SELECT pg_advisory') ? 'LOCK' : verb);
    if (verb === 'INSERT') {
      const [kid, pub, cert, sealed, at] = params as [string, string, string, string, Date];
      rows.push({ kid, public_key_pem: pub, certificate_pem: cert, private_key_sealed: sealed, activates_at: at });
    }
    if (verb === 'DELETE') {
      const gone = params[0] as string[];
      rows.splice(0, rows.length, ...rows.filter((r) => !gone.includes(r.kid)));
    }
    return { rows: verb === 'SELECT' ? [...rows].sort((a, b) => b.activates_at.getTime() - a.activates_at.getTime()) : [] };
  };
  const pool = { query: run, connect: async () => ({ query: run, release: () => log.push('release') }) };
  return { pool: pool as unknown as pg.Pool, rows, log };
}

const rowOf = (k: NewSigningKey, activatesAt: number): SigningKeyRow => ({
  kid: k.kid,
  public_key_pem: k.publicKeyPem,
  certificate_pem: k.certificatePem,
  private_key_sealed: k.privateKeySealed,
  activates_at: new Date(activatesAt),
});

describe('KeyRing', () => {
  const now0 = Date.parse('2030-01-01T00:00:00Z');
  let a: NewSigningKey;
  let b: NewSigningKey;
  beforeAll(async () => {
    [a, b] = await Promise.all([generateSigningKey(KEK, ISSUER, 30 * DAY, now0, TEST_BITS), generateSigningKey(KEK, ISSUER, 30 * DAY, now0, TEST_BITS)]);
  });

  it('serves the public key derived from the sealed private key, and refuses a row whose public half was replaced', async () => {
    const good = fakePool([rowOf(a, now0)]);
    const ring = new KeyRing(good.pool, KEK, 30 * DAY, ISSUER, () => now0);
    await ring.load();
    const derived = createPublicKey(ring.signingKey().privateKey).export({ format: 'jwk' });
    expect(JSON.parse(ring.certs()).keys).toEqual([{ ...derived, kid: a.kid, alg: 'RS256', use: 'sig' }]);
    expect(ring.publicKey(a.kid)!.export({ format: 'jwk' })).toEqual(derived);
    // Someone with write access to the table (not the key-encryption key) swaps in their own public key...
    const tampered = fakePool([{ ...rowOf(a, now0), public_key_pem: b.publicKeyPem }]);
    await expect(new KeyRing(tampered.pool, KEK, 30 * DAY, ISSUER, () => now0).load()).rejects.toThrow(/stored public key does not match its private key/);
    // ...or the certificate of another key.
    const badCert = fakePool([{ ...rowOf(a, now0), certificate_pem: b.certificatePem }]);
    await expect(new KeyRing(badCert.pool, KEK, 30 * DAY, ISSUER, () => now0).load()).rejects.toThrow(/stored certificate does not match its private key/);
  });

  it('generates the key first, asynchronously, then inserts it inside the transaction under the advisory lock', async () => {
    let now = now0;
    const { pool, log, rows } = fakePool();
    const generate: KeyGenerator = async () => {
      log.push('generate:start');
      await new Promise((r) => setImmediate(r));
      log.push('generate:end');
      return a;
    };
    const ring = new KeyRing(pool, KEK, 30 * DAY, ISSUER, () => now, generate);
    await expect(ring.rotateIfDue()).resolves.toBe(true);
    // Under the lock: the rotation interval in force (the API's setting), then the keys, then the insert.
    expect(log).toEqual(['SELECT', 'generate:start', 'generate:end', 'BEGIN', 'LOCK', 'SELECT', 'SELECT', 'INSERT', 'COMMIT', 'release']);
    expect(rows.map((r) => r.kid)).toEqual([a.kid]);
    // Not due: nothing is generated, no key is inserted.
    log.length = 0;
    await expect(ring.rotateIfDue()).resolves.toBe(false);
    expect(log).not.toContain('generate:start');
    expect(log).not.toContain('INSERT');
    // Due, but another replica inserts its key while this one generates: this one's is discarded.
    now += 30 * DAY;
    const racing = new KeyRing(
      pool,
      KEK,
      30 * DAY,
      ISSUER,
      () => now,
      async (at) => {
        rows.push(rowOf(b, at));
        return { ...a, kid: 'mine' };
      },
    );
    await expect(racing.rotateIfDue()).resolves.toBe(false);
    expect(rows.map((r) => r.kid)).toEqual([a.kid, b.kid]);
  });

  it('generates the key pair off the event loop: the call returns before the key exists', async () => {
    let settled = false;
    const generating = generateSigningKey(KEK, ISSUER, 30 * DAY, Date.now(), TEST_BITS).then((k) => ((settled = true), k));
    // A synchronous generation (generateKeyPairSync) would be done within these microtask turns;
    // work on libuv's thread pool can only complete in a later turn of the event loop.
    for (let i = 0; i < 50; i++) await Promise.resolve();
    expect(settled).toBe(false);
    const key = await generating;
    expect(settled).toBe(true);
    expect(key.privateKeySealed).toMatch(/^v1:/);
  });
});
