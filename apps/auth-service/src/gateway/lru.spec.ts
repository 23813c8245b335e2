import { Lru } from './lru.js';

describe('Lru', () => {
  it('holds at most its capacity, evicting the entry stored longest ago', () => {
    const lru = new Lru<number, string>(4);
    for (let i = 0; i < 6; i++) lru.set(i, `v${i}`);
    expect(lru.size).toBe(4);
    expect([0, 1, 2, 3, 4, 5].map((i) => lru.get(i))).toEqual([undefined, undefined, 'v2', 'v3', 'v4', 'v5']);
  });

  it('keeps an entry in use past half its capacity of newer ones, however old it is', () => {
    const lru = new Lru<number, string>(8);
    lru.set(-1, 'kept');
    for (let i = 0; i < 100; i++) {
      expect(lru.get(-1)).toBe('kept');
      lru.set(i, `v${i}`);
    }
    expect(lru.size).toBe(8);
    expect(lru.get(-1)).toBe('kept');
  });

  it('evicts an entry not used since more than its capacity of newer ones was stored', () => {
    const lru = new Lru<number, string>(8);
    lru.set(-1, 'old');
    lru.get(-1);
    for (let i = 0; i < 8; i++) lru.set(i, `v${i}`);
    expect(lru.get(-1)).toBeUndefined();
  });

  it('replaces a value, deletes and clears', () => {
    const lru = new Lru<string, number>(2);
    lru.set('a', 1);
    lru.set('a', 2);
    expect(lru.get('a')).toBe(2);
    expect(lru.size).toBe(1);
    lru.delete('a');
    expect(lru.get('a')).toBeUndefined();
    lru.set('b', 1);
    lru.clear();
    expect(lru.size).toBe(0);
  });
});
