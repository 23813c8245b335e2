import { randomUUID } from 'node:crypto';
import {
  ChangeFollower,
  TOMBSTONE_SOURCE,
  decodeCompactPage,
  tokenRecordOf,
  type TokenRow,
  type ChangeRecord,
  type ChangeSink,
  type ChangesPage,
  type ChangesRequest,
} from './replication.js';
import { TokenRows } from './token-rows.js';

const quiet = { log: () => undefined, warn: () => undefined };
const tomb = (revision: number): ChangeRecord => ({ type: 'tombstone', entity: 'token', id: randomUUID(), revision });

/** A sink that records what it was given. */
function sink(start = -1) {
  const s = {
    rev: start,
    applied: [] as ChangeRecord[],
    resets: 0,
    watermark: () => s.rev,
    apply: (r: ChangeRecord[]) => void s.applied.push(...r),
    caughtUp: (head: number) => void (s.rev = Math.max(s.rev, head)),
    reset: () => void ((s.rev = -1), s.resets++),
  };
  return s satisfies ChangeSink;
}

/** A source over a list of records, two per page; `head()` is the last revision. */
function source(records: ChangeRecord[], floor = 0) {
  const calls: ChangesRequest[] = [];
  let failNext = 0;
  const src = {
    calls,
    records,
    failTimes: (n: number) => void (failNext = n),
    async changes(req: ChangesRequest): Promise<ChangesPage> {
      calls.push(req);
      if (failNext > 0) {
        failNext--;
        throw new Error('no answer');
      }
      const head = records.at(-1)?.revision ?? 0;
      const from = req.after
        ? records.findIndex((r) => r.type === 'tombstone' && r.id === req.after![2]) + 1
        : records.findIndex((r) => r.revision > req.since);
      const start = from < 0 ? records.length : from;
      const page = records.slice(start, start + 2);
      const last = page.at(-1);
      const more = start + 2 < records.length;
      return { head, floor, records: page, next: more && last && last.type === 'tombstone' ? [last.revision, TOMBSTONE_SOURCE, last.id] : null };
    },
    async head() {
      return records.at(-1)?.revision ?? 0;
    },
  };
  return src;
}

describe('ChangeFollower', () => {
  it('pages from -1 to the head, asks for bounded pages, and is ready once caught up', async () => {
    const src = source([1, 2, 3, 4, 5].map(tomb));
    const s = sink();
    const f = new ChangeFollower(src, s, { maxPayload: () => 65_536, pollMs: 60_000, log: quiet });
    await f.start();
    await f.stop();
    expect(s.applied.map((r) => r.revision)).toEqual([1, 2, 3, 4, 5]);
    expect(s.rev).toBe(5);
    expect(src.calls).toHaveLength(3);
    expect(src.calls.every((c) => c.maxBytes === 65_536 - 2_048)).toBe(true);
  });

  it('retries a failed pull and pulls again when a hint arrives during a pull', async () => {
    const src = source([1, 2].map(tomb));
    src.failTimes(2);
    const s = sink();
    const f = new ChangeFollower(src, s, { maxPayload: () => 1_048_576, pollMs: 60_000, retryMs: 10, log: quiet });
    await f.start();
    expect(s.rev).toBe(2);
    // A change lands while a pull is running: the hint makes it look once more.
    src.records.push(tomb(3));
    const running = f.pull();
    src.records.push(tomb(4));
    f.hint(4);
    await running;
    await f.stop();
    expect(s.rev).toBe(4);
  });

  it('polls only the head when idle and pulls when it moved', async () => {
    const src = source([tomb(1)]);
    const s = sink();
    const f = new ChangeFollower(src, s, { maxPayload: () => 1_048_576, pollMs: 20, log: quiet });
    await f.start();
    const pulls = src.calls.length;
    src.records.push(tomb(2));
    await new Promise<void>((resolve) => {
      const check = setInterval(() => s.rev === 2 && (clearInterval(check), resolve()), 5);
    });
    await f.stop();
    expect(src.calls.length).toBe(pulls + 1);
  });

  it('reloads from -1 when its revision is behind the tombstone floor', async () => {
    const src = source([5, 6, 7].map(tomb), 4);
    const s = sink(2);
    const f = new ChangeFollower(src, s, { maxPayload: () => 1_048_576, pollMs: 60_000, log: quiet });
    await f.start();
    await f.stop();
    expect(s.resets).toBe(1);
    expect(src.calls.map((c) => c.since)).toEqual([2, -1, -1]);
    expect(s.rev).toBe(7);
  });
});

describe('ChangeFollower cold start in parallel ranges', () => {
  /** A source over tombstones of revisions 1..n (several per revision), pages of 49 (they split a revision's records), with a head poll. */
  function big(n: number, perRevision = 3, slowAbove = Infinity) {
    const records: ChangeRecord[] = [];
    for (let r = 1; r <= n; r++)
      for (let k = 0; k < perRevision; k++)
        records.push({ type: 'tombstone', entity: 'token', id: `00000000-0000-4000-8000-${String(r * 10 + k).padStart(12, '0')}`, revision: r });
    const key = (r: ChangeRecord) => [r.revision, (r as { id: string }).id] as const;
    let inFlight = 0;
    let maxInFlight = 0;
    const starts = new Set<number>();
    const src = {
      maxInFlight: () => maxInFlight,
      /** The `since` of every request: one per range read. */
      starts: () => [...starts].sort((a, b) => a - b),
      async changes(req: ChangesRequest): Promise<ChangesPage> {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        starts.add(req.since);
        // Pages past `slowAbove` cost ten times as much (a fleet's JSON records after its tokens).
        await new Promise((r) => setTimeout(r, (req.after?.[0] ?? req.since) >= slowAbove ? 10 : 1));
        inFlight--;
        const after = req.after ?? [req.since, TOMBSTONE_SOURCE, 'ffffffff-ffff-ffff-ffff-ffffffffffff'];
        const start = records.findIndex((r) => {
          const [rev, id] = key(r);
          return rev > after[0] || (rev === after[0] && id > after[2]);
        });
        const page = start < 0 ? [] : records.slice(start, start + 49);
        const last = page.at(-1);
        const more = start >= 0 && start + 49 < records.length;
        return { head: n, floor: 0, records: page, next: more && last ? [last.revision, TOMBSTONE_SOURCE, (last as { id: string }).id] : null };
      },
      async head() {
        return n;
      },
    };
    return { src, records };
  }

  /** A cold start in 3 chains over `source`: every record applied, the watermark at `head`. */
  async function coldStartReadsAll<T extends ReturnType<typeof big>>(source: T, head: number): Promise<T> {
    const s = sink();
    const f = new ChangeFollower(source.src, s, { maxPayload: () => 65_536, pollMs: 60_000, log: quiet, coldStartChains: 3 });
    await f.start();
    await f.stop();
    const got = new Set(s.applied.map((r) => (r as { id: string }).id));
    expect(source.records.filter((r) => !got.has((r as { id: string }).id))).toEqual([]);
    expect(s.rev).toBe(head);
    return source;
  }

  it('reads every record up to the head in ranges at once, records at a range bound included', async () => {
    // 15,045 revisions: a page of both first ranges ends inside the three records of its bound revision.
    const { src } = await coldStartReadsAll(big(15_045), 15_045);
    expect(src.maxInFlight()).toBeGreaterThanOrEqual(3);
  });

  it('splits what is left of the slowest range when a chain is done, every record still read', async () => {
    // The top third of the revisions costs ten times as much per page: without splitting, the
    // last range is read alone long after the other two are done.
    const { src } = await coldStartReadsAll(big(30_000, 1, 20_000), 30_000);
    const starts = src.starts().filter((x) => x !== 30_000); // the pass from the head after the ranges
    // -1, 10,000 and 20,000, then halves of what was left of the third range (above 20,000).
    expect(starts.slice(0, 3)).toEqual([-1, 10_000, 20_000]);
    expect(starts.length).toBeGreaterThanOrEqual(4);
    expect(starts.slice(3).every((x) => x > 20_000 && x < 30_000)).toBe(true);
  });

  it('reads one range when the copy is small', async () => {
    const { src } = big(100);
    const s = sink();
    const f = new ChangeFollower(src, s, { maxPayload: () => 65_536, pollMs: 60_000, log: quiet, coldStartChains: 3 });
    await f.start();
    await f.stop();
    expect(s.applied).toHaveLength(300);
    expect(src.maxInFlight()).toBeLessThanOrEqual(2);
  });
});

describe('replica.v3 pages', () => {
  const id = randomUUID();
  const account = randomUUID();
  const row: TokenRow = [7, id, account, 'n "q" \\ é 🔑', 'c.access', '8760h', true, 1_798_809_854_101, 'ab'.repeat(32), 2, null, null];
  const page = (tokens: Uint8Array) => ({ head: 7, floor: 0, records: [tomb(5)], tokens, next: null });

  it('decodes the token rows and keeps the other records', () => {
    const d = decodeCompactPage(page(TokenRows.encode([row])));
    expect(d.tokens).toEqual([row]);
    expect(d.records).toHaveLength(1);
    expect(tokenRecordOf(row)).toEqual({
      revision: 7,
      token: {
        id,
        accountId: account,
        name: 'n "q" \\ é 🔑',
        clientId: 'c.access',
        duration: '8760h',
        enabled: true,
        expiresAt: '2027-01-01T13:24:14.101Z',
        secretHash: 'ab'.repeat(32),
        clientSecretVersion: 2,
        previousSecretHash: null,
        previousClientSecretExpiresAt: null,
      },
    });
  });

  it('round-trips every field, nulls, empty texts, dates before 1970 and 2000, big revisions', () => {
    const rows: TokenRow[] = [
      row,
      [Number.MAX_SAFE_INTEGER, randomUUID(), account, '', '', '', false, null, '', -3, '', 0],
      [0, randomUUID().toUpperCase(), account, 'x'.repeat(70_000), 'y', 'z', true, -86_400_001, 'h', 0, 'p'.repeat(64), 946_684_799_999],
      [1, randomUUID(), randomUUID(), 'a', 'b', 'c', false, 253_402_300_799_999, 'd', 2_147_483_647, null, -62_135_596_800_000],
    ];
    const decoded = TokenRows.of(rows);
    expect(decoded.length).toBe(4);
    expect(decoded.toArray()).toEqual(rows.map((r) => r.map((v, k) => (k === 1 && typeof v === 'string' ? v.toLowerCase() : v))));
    expect(TokenRows.decode(new Uint8Array(0)).length).toBe(0);
  });

  it('reads infinity and dates past 9999 as no expiry, -infinity and dates before year 1 as 0001-01-01', () => {
    const bytes = TokenRows.encode([row]);
    const expiry = (us: bigint) => {
      bytes.writeBigInt64BE(us, 41);
      return TokenRows.decode(bytes).expiresAtMs(0);
    };
    const us = (iso: string) => (BigInt(Date.parse(iso)) - 946_684_800_000n) * 1000n;
    expect(expiry(0x7fff_ffff_ffff_ffffn)).toBeNull();
    expect(expiry(us('+010000-01-01T00:00:00.000Z'))).toBeNull();
    expect(expiry(us('9999-12-31T23:59:59.999Z'))).toBe(Date.parse('9999-12-31T23:59:59.999Z'));
    expect(expiry(-0x8000_0000_0000_0000n)).toBe(Date.parse('0001-01-01T00:00:00.000Z'));
    expect(expiry(us('-000100-01-01T00:00:00.000Z'))).toBe(Date.parse('0001-01-01T00:00:00.000Z'));
    expect(expiry(us('1969-12-31T23:59:59.999Z') + 999n)).toBe(-1);
  });

  it('refuses a page whose rows break the layout', () => {
    const good = TokenRows.encode([row, row]);
    const text = (b: Buffer) => page(b);
    expect(() => decodeCompactPage(page(Buffer.from('[[7]]')))).toThrow('break TokenRow');
    expect(() => decodeCompactPage(page(Buffer.concat([TokenRows.encode([row]), Buffer.from('!!!!')])))).toThrow('break TokenRow');
    // Cut anywhere: refused, never a shorter page.
    for (const cut of [1, 10, 60, 61, 64, 70, good.length / 2 + 1, good.length - 1])
      expect(() => decodeCompactPage(text(good.subarray(0, cut)))).toThrow('break TokenRow');
    const flags = Buffer.from(good);
    flags[0] = 0x10;
    expect(() => decodeCompactPage(text(flags))).toThrow('unknown flags');
    const negative = Buffer.from(good);
    negative.writeInt32BE(-1, 1);
    expect(() => decodeCompactPage(text(negative))).toThrow('revision');
    const long = Buffer.from(good);
    long.writeUInt32BE(0xffff_fff0, 61);
    expect(() => decodeCompactPage(text(long))).toThrow('cut short');
    // A previous hash's bytes without its flag.
    const sneaky = TokenRows.encode([[...row.slice(0, 10), 'q', null] as TokenRow]);
    sneaky[0] = sneaky[0]! & ~4;
    expect(() => decodeCompactPage(text(sneaky))).toThrow('previous hash without its flag');
  });

  it('hands a v3 page to the sink as records and rows, and counts both', async () => {
    const applied: Array<[number, number]> = [];
    let rev = -1;
    const s: ChangeSink = {
      watermark: () => rev,
      apply: (records: ChangeRecord[], tokens: TokenRows) => void applied.push([records.length, tokens.length]),
      caughtUp: (head: number) => void (rev = head),
      reset: () => undefined,
    };
    const src = { changes: async () => page(TokenRows.encode([row, row])), head: async () => 7 };
    const f = new ChangeFollower(src, s, { maxPayload: () => 65_536, pollMs: 60_000, log: quiet });
    await f.start();
    await f.stop();
    expect(applied).toEqual([[1, 2]]);
    expect(rev).toBe(7);
  });
});
