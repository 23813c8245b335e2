import { isIPv4, isIPv6 } from 'node:net';

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

  /** Told of every failure seen here (gateway workers pass it on to the other workers). */
  onFail?: (key: string, now: number) => void;

  fail(key: string, now = Date.now()): void {
    this.record(key, now);
    this.onFail?.(key, now);
  }

  /** A failure, without telling `onFail`: one that another worker saw. */
  record(key: string, now = Date.now()): void {
    const tokens = this.level(key, now) - 1;
    this.buckets.delete(key);
    this.buckets.set(key, { tokens: Math.max(0, tokens), at: now });
    if (this.buckets.size > this.maxKeys) this.buckets.delete(this.buckets.keys().next().value as string);
  }

  get size(): number {
    return this.buckets.size;
  }
}

/**
 * The rate-limit bucket of a source address. An IPv6 client is usually given a whole /64 (and
 * picks any address in it at will), so IPv6 addresses share a bucket per /64; IPv4 addresses, and
 * IPv4-mapped IPv6 ones (`::ffff:192.0.2.1`), are keyed by the full address. Anything else (no
 * address known) is its own key.
 */
export function addressKey(ip: string): string {
  const zone = ip.indexOf('%');
  const addr = zone < 0 ? ip : ip.slice(0, zone);
  if (isIPv4(addr)) return addr;
  if (!isIPv6(addr)) return ip;
  const groups = expandIPv6(addr.toLowerCase());
  // ::ffff:a.b.c.d (and its hex form ::ffff:0a0b:0c0d): an IPv4 client.
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return [groups[6]! >> 8, groups[6]! & 0xff, groups[7]! >> 8, groups[7]! & 0xff].join('.');
  }
  return `${groups
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(':')}::/64`;
}

/** The eight 16-bit groups of a valid IPv6 address (with `::` and a trailing dotted IPv4 part). */
function expandIPv6(addr: string): number[] {
  let text = addr;
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [left, right] = text.split('::') as [string, string | undefined];
  const l = left ? left.split(':') : [];
  const r = right ? right.split(':') : [];
  const fill = right === undefined ? [] : new Array<string>(8 - l.length - r.length).fill('0');
  return [...l, ...fill, ...r].map((g) => parseInt(g, 16));
}

/**
 * The gateway's rule for failed attempts. Every wrong guess (malformed or unknown credentials, a
 * wrong secret, a bad JWT) counts against the source address; a wrong secret counts against its
 * client id too. An address or a client id over its limit waits (429 with Retry-After).
 */
export class FailedAttempts {
  constructor(
    /** Per client id. */
    private readonly byClientId: RateLimiter,
    /** Per source address (./rate-limiter.ts addressKey: an IPv6 client's /64 is one address). */
    private readonly byAddress: RateLimiter,
  ) {}

  /** Seconds the address must wait before it may try again; 0: it may try now. */
  addressWait(ip: string, now: number): number {
    return this.byAddress.retryAfter(`ip:${addressKey(ip)}`, now);
  }

  failed(ip: string, now: number): void {
    this.byAddress.fail(`ip:${addressKey(ip)}`, now);
  }

  /** A wrong secret for `clientId`, counted for the id and the address: the seconds the id had to wait already (0: none). */
  failedSecret(ip: string, clientId: string, now: number): number {
    const key = `id:${clientId}`;
    const wait = this.byClientId.retryAfter(key, now);
    this.byClientId.fail(key, now);
    this.failed(ip, now);
    return wait;
  }
}
