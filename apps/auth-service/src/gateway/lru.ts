/**
 * A bounded map that evicts the least recently used entry (Map keeps insertion order), nearly: a
 * hit moves its entry to the back of the order only when more than half the capacity of entries
 * was stored since it was last moved. Moving on every hit (a delete and an insert) cost more than
 * the rest of a cached JWT check; this way an entry in use still outlives at least half the
 * capacity of newer ones, and a hit on a recent entry is one lookup.
 */
export class Lru<K, V> {
  private map = new Map<K, { value: V; at: number }>();
  /** Entries stored (or moved back) so far: each one's `at` is its place in that sequence. */
  private stored = 0;
  constructor(private readonly max: number) {}

  get(key: K): V | undefined {
    const e = this.map.get(key);
    if (e === undefined) return undefined;
    if (this.stored - e.at > this.max >>> 1) {
      this.map.delete(key);
      e.at = this.stored++;
      this.map.set(key, e);
    }
    return e.value;
  }

  set(key: K, value: V): void {
    this.map.delete(key);
    this.map.set(key, { value, at: this.stored++ });
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value as K);
  }

  delete(key: K): void {
    this.map.delete(key);
  }

  clear(): void {
    this.map.clear();
  }

  get size(): number {
    return this.map.size;
  }
}
