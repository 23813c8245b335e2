import { randomUUID } from 'node:crypto';
import {
  ChangeFollower,
  TOMBSTONE_SOURCE,
  TokenRow,
  decodeCompactPage,
  decodeTokenRows,
  isTokenRow,
  tokenRecordOf,
  type ChangeRecord,
  type ChangeSink,
  type ChangesPage,
  type ChangesRequest,
} from './replication.js';

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
  function big(n: number, perRevision = 3) {
    const records: ChangeRecord[] = [];
    for (let r = 1; r <= n; r++)
      for (let k = 0; k < perRevision; k++)
        records.push({ type: 'tombstone', entity: 'token', id: `00000000-0000-4000-8000-${String(r * 10 + k).padStart(12, '0')}`, revision: r });
    const key = (r: ChangeRecord) => [r.revision, (r as { id: string }).id] as const;
    let inFlight = 0;
    let maxInFlight = 0;
    const src = {
      maxInFlight: () => maxInFlight,
      async changes(req: ChangesRequest): Promise<ChangesPage> {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise((r) => setTimeout(r, 1));
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

  it('reads every record up to the head in ranges at once, records at a range bound included', async () => {
    // 15,045 revisions: a page of both first ranges ends inside the three records of its bound revision.
    const { src, records } = big(15_045);
    const s = sink();
    const f = new ChangeFollower(src, s, { maxPayload: () => 65_536, pollMs: 60_000, log: quiet, coldStartChains: 3 });
    await f.start();
    await f.stop();
    const got = new Set(s.applied.map((r) => (r as { id: string }).id));
    expect(records.filter((r) => !got.has((r as { id: string }).id))).toEqual([]);
    expect(s.rev).toBe(15_045);
    expect(src.maxInFlight()).toBeGreaterThanOrEqual(3);
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
  const row: TokenRow = [7, id, account, 'n "q" \\', 'c.access', '8760h', true, 1_798_809_854_101, 'ab'.repeat(32), 2, null, null];
  const page = (tokens: string) => ({ head: 7, floor: 0, records: [tomb(5)], tokens, next: null });

  it('decodes the token rows and keeps the other records', () => {
    const d = decodeCompactPage(page(JSON.stringify([row])));
    expect(d.tokens).toEqual([row]);
    expect(d.records).toHaveLength(1);
    expect(tokenRecordOf(row)).toEqual({
      revision: 7,
      token: {
        id,
        accountId: account,
        name: 'n "q" \\',
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

  it('refuses a page whose rows break TokenRow or are not JSON', () => {
    expect(() => decodeCompactPage(page('[[7'))).toThrow('not JSON');
    expect(() => decodeCompactPage(page(JSON.stringify([[...row.slice(0, 11)]])))).toThrow('break TokenRow');
    expect(() => decodeCompactPage(page(JSON.stringify([row.map((v, i) => (i === 1 ? 'not-a-uuid' : v))])))).toThrow('break TokenRow');
    expect(() => decodeCompactPage(page(JSON.stringify([row.map((v, i) => (i === 7 ? 1.5 : v))])))).toThrow('break TokenRow');
    expect(() => decodeCompactPage(page('{}'))).toThrow('break TokenRow');
    expect(() => decodeTokenRows('[1]')).toThrow('row 0');
  });

  it('checks rows in place exactly as the TokenRow schema does', () => {
    const variants: unknown[] = [
      row,
      [...row.slice(0, 10), 'ab'.repeat(32), 1_798_809_854_000],
      row.slice(0, 11),
      [...row, 1],
      Object.fromEntries(row.map((v, k) => [k, v])), // an object with the same indices
      null,
      'row',
      ...row.map((_, i) => row.map((v, k) => (k === i ? undefined : v))),
      ...row.map((_, i) => row.map((v, k) => (k === i ? {} : v))),
      ...row.map((_, i) => row.map((v, k) => (k === i ? null : v))),
      ...row.map((_, i) => row.map((v, k) => (k === i ? 1.5 : v))),
      ...row.map((_, i) => row.map((v, k) => (k === i ? -1 : v))),
      ...row.map((_, i) => row.map((v, k) => (k === i ? 'x' : v))),
      ...row.map((_, i) => row.map((v, k) => (k === i ? true : v))),
      row.map((v, k) => (k === 1 ? id.toUpperCase() : v)),
      row.map((v, k) => (k === 2 ? `${account}0` : v)),
      row.map((v, k) => (k === 1 ? '00000000-0000-0000-0000-000000000001' : v)),
      row.map((v, k) => (k === 0 ? Number.MAX_SAFE_INTEGER + 2 : v)),
    ];
    for (const v of variants) expect([v, isTokenRow(v)]).toEqual([v, TokenRow.safeParse(v).success]);
    expect(variants.filter((v) => isTokenRow(v)).length).toBeGreaterThan(3);
  });

  it('hands a v3 page to the sink as records and rows, and counts both', async () => {
    const applied: Array<[number, number]> = [];
    let rev = -1;
    const s: ChangeSink = {
      watermark: () => rev,
      apply: (records: ChangeRecord[], tokens: TokenRow[]) => void applied.push([records.length, tokens.length]),
      caughtUp: (head: number) => void (rev = head),
      reset: () => undefined,
    };
    const src = { changes: async () => page(JSON.stringify([row, row])), head: async () => 7 };
    const f = new ChangeFollower(src, s, { maxPayload: () => 65_536, pollMs: 60_000, log: quiet });
    await f.start();
    await f.stop();
    expect(applied).toEqual([[1, 2]]);
    expect(rev).toBe(7);
  });
});
