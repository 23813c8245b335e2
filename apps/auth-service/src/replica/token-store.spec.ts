import { randomUUID } from 'node:crypto';
import { tokenOf } from './replica.fixture.js';
import { TokenStore } from './token-store.js';

describe('TokenStore', () => {
  it('gives back every field a decision reads, by client id and by id', () => {
    const s = new TokenStore();
    const t = tokenOf({
      name: 'ünïcode name',
      expiresAt: '2030-01-02T03:04:05.678Z',
      clientSecretVersion: 3,
      previousSecretHash: 'b'.repeat(64),
      previousClientSecretExpiresAt: '2029-01-01T00:00:00.000Z',
      enabled: false,
    });
    s.set(t, 42);
    const want = {
      id: t.id,
      accountId: t.accountId,
      name: 'ünïcode name',
      clientId: t.clientId,
      enabled: false,
      secretVerifier: t.secretHash.slice(0, 32),
      clientSecretVersion: 3,
      previousSecretVerifier: 'b'.repeat(32),
      revision: 42,
      expiresAtMs: Date.parse('2030-01-02T03:04:05.678Z'),
      previousExpiresAtMs: Date.parse('2029-01-01T00:00:00.000Z'),
    };
    expect(s.byClient(t.clientId)).toEqual(want);
    expect(s.get(t.id)).toEqual(want);
    expect(s.revisionOf(t.id)).toBe(42);
    expect(s.byClient(t.clientId + 'x')).toBeUndefined();
    expect(s.get(randomUUID())).toBeUndefined();
    expect(s.get('not-a-uuid')).toBeUndefined();
  });

  it('replaces a token in place, deletes it, and reuses its slot for another', () => {
    const s = new TokenStore();
    const t = tokenOf({ name: 'short' });
    s.set(t, 1);
    const before = s.byClient(t.clientId);
    s.set({ ...t, name: 'a much longer name than before', enabled: false, previousSecretHash: 'c'.repeat(64) }, 2);
    expect(s.size).toBe(1);
    expect(s.byClient(t.clientId)).not.toBe(before); // a new object: holders of the old one keep the old state
    expect(s.byClient(t.clientId)).toMatchObject({
      name: 'a much longer name than before',
      enabled: false,
      revision: 2,
      previousSecretVerifier: 'c'.repeat(32),
    });
    s.set({ ...t, name: 'x' }, 3);
    expect(s.byClient(t.clientId)).toMatchObject({ name: 'x', previousSecretVerifier: null, expiresAtMs: null });
    expect(s.delete(t.id)).toBe(true);
    expect(s.delete(t.id)).toBe(false);
    expect(s.size).toBe(0);
    expect(s.byClient(t.clientId)).toBeUndefined();
    expect(s.get(t.id)).toBeUndefined();
    const u = tokenOf();
    s.set(u, 4);
    expect(s.byClient(u.clientId)?.id).toBe(u.id);
    expect(s.byClient(t.clientId)).toBeUndefined();
  });

  it('a stored hash that is not 64 hex digits matches nothing, even when its first 32 are hex', () => {
    const s = new TokenStore();
    for (const bad of ['zz', 'a'.repeat(32), 'a'.repeat(63) + 'g', 'a'.repeat(65), 'a'.repeat(62) + 'ü']) {
      const t = tokenOf({ secretHash: bad, previousSecretHash: bad, previousClientSecretExpiresAt: '2099-01-01T00:00:00.000Z' });
      s.set(t, 1);
      expect(s.byClient(t.clientId)).toMatchObject({ secretVerifier: '', previousSecretVerifier: '' });
    }
  });

  it('keeps the first 16 bytes of a hash in either case, as lower-case hex', () => {
    const s = new TokenStore();
    const hash = '0123456789ABCDEF'.repeat(4);
    const t = tokenOf({ secretHash: hash, previousSecretHash: hash.toLowerCase(), previousClientSecretExpiresAt: '2099-01-01T00:00:00.000Z' });
    s.set(t, 1);
    expect(s.byClient(t.clientId)).toMatchObject({ secretVerifier: '0123456789abcdef'.repeat(2), previousSecretVerifier: '0123456789abcdef'.repeat(2) });
  });

  it('keeps 30,000 tokens through growth, deletes of every third and updates (heap compaction)', () => {
    const s = new TokenStore();
    const all = Array.from({ length: 30_000 }, (_, i) => tokenOf({ clientId: `c${i}.access`, name: `token-${i}` }));
    all.forEach((t, i) => s.set(t, i));
    all.forEach((t, i) => i % 3 === 0 && s.delete(t.id));
    // Longer names: every update appends, until the heap is rewritten.
    for (let round = 0; round < 6; round++) all.forEach((t, i) => i % 3 !== 0 && s.set({ ...t, name: `${t.name}-${'r'.repeat(round * 8)}` }, 100_000 + i));
    expect(s.size).toBe(20_000);
    all.forEach((t, i) => {
      if (i % 3 === 0) {
        expect(s.byClient(t.clientId)).toBeUndefined();
      } else {
        const got = s.byClient(t.clientId)!;
        expect(got.id).toBe(t.id);
        expect(got.name).toBe(`token-${i}-${'r'.repeat(40)}`);
        expect(s.get(t.id)?.clientId).toBe(t.clientId);
      }
    });
  });

  it('keeps generated client ids as 16 bytes and any other client id as text, never confusing the two', () => {
    const s = new TokenStore();
    const hex = 'ab'.repeat(16);
    const generated = tokenOf({ clientId: `${hex}.access` });
    // Look-alikes that must stay text (and stay distinct): upper case, short, other suffixes, and
    // the 16 bytes of the generated id written as text.
    const lookAlikes = [`${hex.toUpperCase()}.access`, `${hex.slice(2)}.access`, `${hex}.accesS`, `${hex}0.access`, Buffer.from(hex, 'hex').toString('latin1')];
    s.set(generated, 1);
    const others = lookAlikes.map((clientId) => tokenOf({ clientId }));
    others.forEach((t, k) => s.set(t, 2 + k));
    expect(s.byClient(generated.clientId)?.id).toBe(generated.id);
    expect(s.get(generated.id)?.clientId).toBe(generated.clientId);
    others.forEach((t) => {
      expect(s.byClient(t.clientId)?.id).toBe(t.id);
      expect(s.get(t.id)?.clientId).toBe(t.clientId);
    });
    // A client id that changes kind (text -> generated -> text) moves with its token.
    const moving = others[0]!;
    const newId = `${'cd'.repeat(16)}.access`;
    s.set({ ...moving, clientId: newId }, 20);
    expect(s.byClient(moving.clientId)).toBeUndefined();
    expect(s.byClient(newId)?.id).toBe(moving.id);
    s.set({ ...moving, clientId: 'plain-text-id' }, 21);
    expect(s.byClient(newId)).toBeUndefined();
    expect(s.byClient('plain-text-id')?.id).toBe(moving.id);
    s.delete(generated.id);
    expect(s.byClient(generated.clientId)).toBeUndefined();
  });

  it('never finds a long text client id by a key that is only its first bytes', () => {
    const s = new TokenStore();
    // 342 three-byte characters: the first 1,023 bytes of its UTF-8 are a lookup key of 341 characters.
    const long = tokenOf({ clientId: '€'.repeat(342) });
    const other = tokenOf({ clientId: '€'.repeat(300) });
    s.set(long, 1);
    s.set(other, 2);
    expect(s.byClient('€'.repeat(341))).toBeUndefined();
    expect(s.byClient(other.clientId)?.id).toBe(other.id);
    s.set({ ...long, clientId: '€'.repeat(341) }, 3);
    expect(s.byClient('€'.repeat(341))?.id).toBe(long.id);
  });

  it('takes a replica.v3 row: every field a decision reads', () => {
    const s = new TokenStore();
    const [id, accountId, clientId] = [randomUUID(), randomUUID(), `${'e'.repeat(32)}.access`];
    s.setRow([9, id, accountId, 'row "q"', clientId, '8760h', false, 1_893_553_445_678, 'c'.repeat(64), 3, 'd'.repeat(64), 1_861_920_000_000]);
    expect(s.byClient(clientId)).toEqual({
      id,
      accountId,
      name: 'row "q"',
      clientId,
      enabled: false,
      secretVerifier: 'c'.repeat(32),
      clientSecretVersion: 3,
      previousSecretVerifier: 'd'.repeat(32),
      revision: 9,
      expiresAtMs: 1_893_553_445_678,
      previousExpiresAtMs: 1_861_920_000_000,
    });
  });

  it('keeps revisions past 2^32 exactly, and a token moving back below', () => {
    const s = new TokenStore();
    const t = tokenOf({});
    const big = 2 ** 32 + 5;
    s.set(t, big);
    expect(s.revisionOf(t.id)).toBe(big);
    expect(s.byClient(t.clientId)?.revision).toBe(big);
    s.set(t, 2 ** 32 - 2);
    expect(s.revisionOf(t.id)).toBe(2 ** 32 - 2);
    s.set(t, 2 ** 32 - 1);
    expect(s.revisionOf(t.id)).toBe(2 ** 32 - 1);
    s.delete(t.id);
    expect(s.revisionOf(t.id)).toBeUndefined();
  });
});
