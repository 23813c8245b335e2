import { createTestDatabase, type TestDatabase } from '@gatehouse/testing';
import type pg from 'pg';
import { migrate } from '../src/database/data-source.js';
import { createPool } from '../src/database/pool.js';
import { deriveEncryptionKey } from '../src/keys/key-crypto.js';
import { KeyRing, generateSigningKey } from '../src/keys/key-ring.js';

const DAY = 86_400_000;

describe('KeyRing (real PostgreSQL)', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  beforeAll(async () => {
    db = await createTestDatabase((url) => migrate(url).then(() => undefined));
    pool = createPool(db.url);
  });
  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  it('rotates on schedule: the next key is published before it signs, the previous one stays one interval', async () => {
    let now = Date.parse('2030-01-01T00:00:00Z');
    const kek = deriveEncryptionKey('x'.repeat(64));
    // 1024-bit keys: the same code paths as the gateway's 2048, a fraction of the CPU.
    const ring = () =>
      new KeyRing(
        pool,
        kek,
        30 * DAY,
        'https://team.example.com',
        () => now,
        (at) => generateSigningKey(kek, 'https://team.example.com', 30 * DAY, at, 1024),
      );
    const a = ring();
    await a.init();
    const [k1] = a.kids();
    expect(a.kids()).toHaveLength(1);
    // Two replicas racing to rotate create one key between them (advisory lock).
    now += 30 * DAY - a.leadMs + 1;
    const b = ring();
    const created = await Promise.all([a.rotateIfDue(), b.rotateIfDue()]);
    expect(created.filter(Boolean)).toHaveLength(1);
    await a.load();
    expect(a.kids()).toHaveLength(2);
    expect(a.signingKey().kid).toBe(k1); // published, not yet signing
    now += a.leadMs;
    const k2 = a.signingKey().kid;
    expect(k2).not.toBe(k1);
    expect(
      JSON.parse(a.certs())
        .keys.map((k: { kid: string }) => k.kid)
        .sort(),
    ).toEqual([k1, k2].sort());
    // Next rotation: k1 is retired once k3 signs.
    now += 30 * DAY;
    await a.rotateIfDue();
    now += a.leadMs;
    await a.rotateIfDue();
    await a.load();
    expect(a.kids()).not.toContain(k1);
    expect(a.kids()).toContain(k2);
    // Private keys are stored encrypted, never in PEM.
    const rows = (await pool.query<{ private_key_sealed: string }>('SELECT private_key_sealed FROM signing_keys')).rows;
    for (const r of rows) expect(r.private_key_sealed).toMatch(/^v1:/);
    // A different key-encryption key cannot read them.
    const wrong = new KeyRing(pool, deriveEncryptionKey('y'.repeat(64)), 30 * DAY, 'https://team.example.com', () => now);
    await expect(wrong.load()).rejects.toThrow(/cannot be decrypted/);
  });
});
