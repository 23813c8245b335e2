import { CreateServiceToken, ReplicaHead, type Actor } from '@gatehouse/contracts';
import pg from 'pg';
import { FEEDS, changes, startHarness, type TokenServiceHarness } from './support.js';

const actor: Actor = { type: 'admin', id: 'replica-concurrency-test' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Writers take revisions from a sequence and commit in any order; the feed must still never let a
 * consumer's "changes since R" pass a lower revision that commits later (docs/replication.md,
 * "Concurrent writers").
 */
describe.each(FEEDS)('replica.%s change feed with concurrent writers', (feed) => {
  let h: TokenServiceHarness;
  const clients: pg.Client[] = [];
  const client = async () => {
    const c = new pg.Client({ connectionString: h.db.url });
    await c.connect();
    clients.push(c);
    return c;
  };
  /** Inserts a token as the ledger would (replica_bump in the same transaction); returns its id and revision. */
  const insertToken = async (c: pg.Client, name: string) => {
    const { rows } = await c.query(
      `INSERT INTO service_tokens (account_id, name, client_id, duration, secret_hash, created_at, updated_at)
       VALUES ($1, $2, $2 || '.access', '8760h', repeat('b', 64), now(), now()) RETURNING id`,
      [h.defaultAccountId, name],
    );
    const id = rows[0].id as string;
    const bumped = await c.query(`SELECT replica_bump($1::uuid[], '{}', '{}', '{}', '{}', '{}') AS revision`, [[id]]);
    return { id, revision: Number(bumped.rows[0].revision) };
  };
  const head = async () => (await h.rpc.request(ReplicaHead, {})).head;

  beforeAll(async () => {
    h = await startHarness([], 'replica-concurrency-test');
  });
  afterAll(async () => {
    for (const c of clients) await c.end().catch(() => undefined);
    await h.stop();
  });

  it('serves nothing past a revision still in flight, and passes it once it commits or aborts', async () => {
    const slow = await client();
    const start = await head();
    await slow.query('BEGIN');
    const pending = await insertToken(slow, 'slow-writer');
    expect(pending.revision).toBeGreaterThan(start);
    // A later change commits first: its revision is higher, and the feed must hold it back.
    const fast = await h.rpc.request(CreateServiceToken, { accountId: h.defaultAccountId, name: 'fast-writer', actor });
    const held = await changes(h.rpc, feed, { since: start });
    expect(held.head).toBe(pending.revision - 1);
    expect(held.records.map((r) => (r.type === 'token' ? r.token.id : r.type))).not.toContain(fast.id);
    await slow.query('COMMIT');
    const page = await changes(h.rpc, feed, { since: start });
    expect(page.head).toBeGreaterThan(pending.revision);
    expect(page.records.map((r) => (r.type === 'token' ? r.token.id : r.type))).toEqual([pending.id, fast.id]);

    // An allocation that rolls back leaves a gap the feed passes once the transaction is gone.
    await slow.query('BEGIN');
    const aborted = await insertToken(slow, 'aborted-writer');
    expect(await head()).toBe(aborted.revision - 1);
    await slow.query('ROLLBACK');
    const after = await h.rpc.request(CreateServiceToken, { accountId: h.defaultAccountId, name: 'after-abort', actor });
    const next = await changes(h.rpc, feed, { since: page.head });
    expect(next.head).toBeGreaterThan(aborted.revision);
    expect(next.records.map((r) => (r.type === 'token' ? r.token.id : r.type))).toEqual([after.id]);
  });

  it('a follower reading while writers commit out of revision order misses nothing', async () => {
    const writers = await Promise.all(Array.from({ length: 6 }, () => client()));
    // The follower's starting point, before any writer starts.
    let watermark = await head();
    const start = watermark;
    const committed: Array<{ id: string; revision: number }> = [];
    let writing = true;
    // Direct writers hold their transaction open for a random while after taking their revision.
    const direct = writers.map(async (c, w) => {
      for (let k = 0; k < 40; k++) {
        await c.query('BEGIN');
        const t = await insertToken(c, `w${w}-${k}`);
        await sleep(Math.random() * 15);
        await c.query('COMMIT');
        committed.push(t);
      }
    });
    // And creates through the service, concurrently.
    const viaRpc = Array.from({ length: 4 }, async (_, w) => {
      for (let k = 0; k < 40; k++) {
        const t = await h.rpc.request(CreateServiceToken, { accountId: h.defaultAccountId, name: `rpc${w}-${k}`, actor });
        committed.push({ id: t.id, revision: -1 });
      }
    });
    // The follower: from its watermark to the head, page by page, over and over (as ChangeFollower).
    const seen = new Set<string>();
    // Pages read while writers were still writing: a pull may not reach the head before they stop
    // (7 records a page can be slower than ten writers), so pages, not whole pulls, are counted.
    let pagesWhileWriting = 0;
    const follow = (async () => {
      for (;;) {
        const last = !writing;
        let after: [number, number, string] | undefined;
        for (;;) {
          const page = await changes(h.rpc, feed, { since: watermark, maxRecords: 7, ...(after ? { after } : {}) });
          if (writing) pagesWhileWriting++;
          for (const r of page.records) if (r.type === 'token') seen.add(r.token.id);
          if (!page.next) {
            watermark = page.head;
            break;
          }
          after = page.next;
        }
        if (last) return;
        await sleep(Math.random() * 5);
      }
    })();
    await Promise.all([...direct, ...viaRpc]);
    writing = false;
    await follow;

    expect(committed).toHaveLength(6 * 40 + 4 * 40);
    expect(pagesWhileWriting).toBeGreaterThan(1); // it did follow while they wrote
    expect(watermark).toBeGreaterThan(start);
    // The writers did commit out of revision order (else this test would prove nothing).
    const direct_ = committed.filter((t) => t.revision >= 0).map((t) => t.revision);
    expect(direct_.some((r, i) => i > 0 && r < direct_[i - 1]!)).toBe(true);
    const missed = committed.filter((t) => !seen.has(t.id));
    expect(missed).toEqual([]);
  }, 60_000);
});
