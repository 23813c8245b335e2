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
      secretHash: t.secretHash,
      clientSecretVersion: 3,
      previousSecretHash: 'b'.repeat(64),
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
    expect(s.byClient(t.clientId)).toMatchObject({ name: 'a much longer name than before', enabled: false, revision: 2, previousSecretHash: 'c'.repeat(64) });
    s.set({ ...t, name: 'x' }, 3);
    expect(s.byClient(t.clientId)).toMatchObject({ name: 'x', previousSecretHash: null, expiresAtMs: null });
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

  it('a stored hash that is not 64 hex digits matches nothing', () => {
    const s = new TokenStore();
    const t = tokenOf({ secretHash: 'zz' });
    s.set(t, 1);
    expect(s.byClient(t.clientId)?.secretHash).toBe('');
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
});
