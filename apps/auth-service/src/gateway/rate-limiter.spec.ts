import { FailedAttempts, RateLimiter, addressKey } from './rate-limiter.js';

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

  it('shares failures through onFail/record, so a limit holds across gateway workers', () => {
    const a = new RateLimiter(3, 60);
    const b = new RateLimiter(3, 60);
    a.onFail = (key, at) => b.record(key, at);
    b.onFail = (key, at) => a.record(key, at);
    const t = 5_000_000;
    a.fail('k', t);
    b.fail('k', t);
    a.fail('k', t);
    // Three failures in all, spread over two workers: both now refuse.
    expect([a.retryAfter('k', t), b.retryAfter('k', t)]).toEqual([1, 1]);
    // A remote failure is not echoed back (no loop): b's record did not call b.onFail.
    const echoed: string[] = [];
    b.onFail = (key) => echoed.push(key);
    b.record('other', t);
    expect(echoed).toEqual([]);
  });

  it('forgets full buckets and bounds the number of keys', () => {
    const l = new RateLimiter(2, 600, 10);
    for (let i = 0; i < 50; i++) l.fail(`k${i}`, 0);
    expect(l.size).toBe(10);
    expect(l.retryAfter('k49', 60_000)).toBe(0);
    expect(l.size).toBe(9);
  });

  it('buckets IPv6 sources by /64, IPv4 and IPv4-mapped ones by the full address', () => {
    expect(addressKey('2001:db8:1:2:aaaa:bbbb:cccc:dddd')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8:1:2::1')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:DB8:1:2:ffff::')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8:1:3::1')).toBe('2001:db8:1:3::/64');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
    expect(addressKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(addressKey('192.0.2.1')).toBe('192.0.2.1');
    expect(addressKey('192.0.2.2')).toBe('192.0.2.2');
    expect(addressKey('::ffff:192.0.2.1')).toBe('192.0.2.1');
    expect(addressKey('::ffff:c000:201')).toBe('192.0.2.1');
    expect(addressKey('')).toBe('');
    // One client rotating through its /64 fills one bucket.
    const l = new RateLimiter(3, 60);
    for (let i = 1; i <= 3; i++) l.fail(`ip:${addressKey(`2001:db8:1:2::${i.toString(16)}`)}`, 0);
    expect(l.retryAfter(`ip:${addressKey('2001:db8:1:2:dead:beef::9')}`, 0)).toBeGreaterThan(0);
    expect(l.retryAfter(`ip:${addressKey('2001:db8:1:3::1')}`, 0)).toBe(0);
  });
});

describe('FailedAttempts', () => {
  const t = 1_000_000;

  it('counts a wrong secret against the client id and the address; the id waits once over its limit', () => {
    const attempts = new FailedAttempts(new RateLimiter(2, 60), new RateLimiter(10, 60));
    expect(attempts.failedSecret('198.51.100.1', 'id-a', t)).toBe(0);
    expect(attempts.failedSecret('198.51.100.2', 'id-a', t)).toBe(0);
    // Over the id's burst of 2, from any address: it had to wait before this attempt.
    expect(attempts.failedSecret('198.51.100.3', 'id-a', t)).toBeGreaterThan(0);
    expect(attempts.failedSecret('198.51.100.3', 'id-b', t)).toBe(0);
    // The addresses were charged too, but none is over its burst of 10.
    expect(attempts.addressWait('198.51.100.3', t)).toBe(0);
  });

  it('makes an address wait after its burst of wrong guesses, and only that address', () => {
    const attempts = new FailedAttempts(new RateLimiter(100, 60), new RateLimiter(3, 60));
    attempts.failed('203.0.113.7', t);
    attempts.failedSecret('203.0.113.7', 'id-a', t);
    expect(attempts.addressWait('203.0.113.7', t)).toBe(0);
    attempts.failed('203.0.113.7', t);
    expect(attempts.addressWait('203.0.113.7', t)).toBeGreaterThan(0);
    expect(attempts.addressWait('203.0.113.8', t)).toBe(0);
  });
});
