import { RateLimiter } from './rate-limiter.js';

describe('RateLimiter', () => {
  it('allows a burst of failures, then asks to wait, then refills', () => {
    const l = new RateLimiter(3, 60); // one token per second
    const t = 1_000_000;
    for (let i = 0; i < 3; i++) {
      expect(l.retryAfter('k', t)).toBe(0);
      l.fail('k', t);
    }
    expect(l.retryAfter('k', t)).toBe(1);
    expect(l.retryAfter('other', t)).toBe(0);
    expect(l.retryAfter('k', t + 1000)).toBe(0);
    l.fail('k', t + 1000);
    expect(l.retryAfter('k', t + 1000)).toBe(1);
  });

  it('forgets full buckets and bounds the number of keys', () => {
    const l = new RateLimiter(2, 600, 10);
    for (let i = 0; i < 50; i++) l.fail(`k${i}`, 0);
    expect(l.size).toBe(10);
    expect(l.retryAfter('k49', 60_000)).toBe(0);
    expect(l.size).toBe(9);
  });
});
