/**
 * Token buckets for failed attempts, one per key (a client id, a source address). Each failure
 * takes one token; tokens come back at `perMinute`; a full bucket is forgotten (no memory for
 * keys that behave). The number of keys is bounded: the oldest entries go first.
 */
export class RateLimiter {
  private buckets = new Map<string, { tokens: number; at: number }>();
  private readonly perMs: number;

  constructor(
    private readonly burst: number,
    perMinute: number,
    private readonly maxKeys = 100_000,
  ) {
    this.perMs = perMinute / 60_000;
  }

  private level(key: string, now: number): number {
    const b = this.buckets.get(key);
    if (!b) return this.burst;
    const tokens = Math.min(this.burst, b.tokens + (now - b.at) * this.perMs);
    if (tokens >= this.burst) {
      this.buckets.delete(key);
      return this.burst;
    }
    return tokens;
  }

  /** Seconds until one more attempt is allowed; 0 when it is allowed now. */
  retryAfter(key: string, now = Date.now()): number {
    const tokens = this.level(key, now);
    return tokens >= 1 ? 0 : Math.max(1, Math.ceil((1 - tokens) / this.perMs / 1000));
  }

  fail(key: string, now = Date.now()): void {
    const tokens = this.level(key, now) - 1;
    this.buckets.delete(key);
    this.buckets.set(key, { tokens: Math.max(0, tokens), at: now });
    if (this.buckets.size > this.maxKeys) this.buckets.delete(this.buckets.keys().next().value as string);
  }

  get size(): number {
    return this.buckets.size;
  }
}
