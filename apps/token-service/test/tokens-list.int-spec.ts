import { CreateAccount, CreateServiceToken, DeleteServiceToken, ListServiceTokens, type Actor } from '@gatehouse/contracts';
import pg from 'pg';
import { startHarness, type TokenServiceHarness } from './support.js';

const actor: Actor = { type: 'admin', id: 'int-list' };
const BULK = 2500;

/**
 * The tokens list at scale (issue 11): the exact total comes from trigger-kept counts, deep pages
 * are read from the nearer end, filtered totals are bounded. Real NATS and PostgreSQL; a few
 * thousand rows inserted in one statement, as a COPY would.
 */
describe('tokens list: totals and paging', () => {
  let h: TokenServiceHarness;
  let db: pg.Client;
  let accountId: string;
  const ids = async (account: string, perPage: number, page: number) =>
    (await h.rpc.request(ListServiceTokens, { accountId: account, page, perPage })).items.map((t) => t.id);
  const reference = async (account: string, perPage: number, page: number) =>
    (
      await db.query('SELECT id FROM service_tokens WHERE account_id = $1 ORDER BY created_at DESC, id DESC OFFSET $2 LIMIT $3', [
        account,
        (page - 1) * perPage,
        perPage,
      ])
    ).rows.map((r: { id: string }) => r.id);
  const countOf = async (account: string) => Number((await db.query('SELECT count(*) FROM service_tokens WHERE account_id = $1', [account])).rows[0].count);

  beforeAll(async () => {
    h = await startHarness([], 'int-list');
    accountId = (await h.rpc.request(CreateAccount, { name: 'list-scale' })).id;
    db = new pg.Client({ connectionString: h.db.url });
    await db.connect();
    // Three tokens per created_at: the id breaks the tie, on both ends of the list.
    await db.query(
      `INSERT INTO service_tokens (account_id, name, client_id, duration, secret_hash, expires_at, created_at, updated_at)
       SELECT $1, 'bulk-' || g, md5(g::text) || '.access', '8760h', md5('s' || g), now() + (g || ' hours')::interval,
              now() - ((g / 3) || ' seconds')::interval, now()
         FROM generate_series(1, $2::int) g`,
      [accountId, BULK],
    );
  });
  afterAll(async () => {
    await db?.end();
    await h?.stop();
  });

  it('keeps the total exact through bulk inserts, concurrent creates and deletes, per account', async () => {
    const created = await Promise.all(Array.from({ length: 24 }, (_, i) => h.rpc.request(CreateServiceToken, { accountId, name: `api-${i}`, actor })));
    for (const t of created.slice(0, 5)) await h.rpc.request(DeleteServiceToken, { accountId, tokenId: t.id, actor });
    const page = await h.rpc.request(ListServiceTokens, { accountId, perPage: 20 });
    expect(page.totalCount).toBe(BULK + 19);
    expect(page.totalCount).toBe(await countOf(accountId));
    expect(page.totalCountExact).toBe(true);
    expect(page.items[0]!.name).toMatch(/^api-/);
    // The default account's tokens are not this account's.
    const other = await h.rpc.request(ListServiceTokens, { accountId: h.defaultAccountId });
    expect(other.totalCount).toBe(await countOf(h.defaultAccountId));
  });

  it('serves every page in the same order as a plain OFFSET read, from the front, the middle and the end', async () => {
    const total = await countOf(accountId);
    const perPage = 100;
    const last = Math.ceil(total / perPage);
    for (const page of [1, 2, Math.floor(last / 2), Math.floor(last / 2) + 1, last - 1, last]) {
      await expect(ids(accountId, perPage, page)).resolves.toEqual(await reference(accountId, perPage, page));
    }
    // An odd page size, so the last page is partial and pages straddle the timestamp ties.
    await expect(ids(accountId, 7, Math.ceil(total / 7))).resolves.toEqual(await reference(accountId, 7, Math.ceil(total / 7)));
    const past = await h.rpc.request(ListServiceTokens, { accountId, page: last + 1, perPage });
    expect(past).toMatchObject({ items: [], totalCount: total, totalCountExact: true });
  });

  it('pages a list spread over many days exactly (each page starts at the day holding its offset), also after deletes and inserts in old days', async () => {
    const spread = (await h.rpc.request(CreateAccount, { name: 'list-days' })).id;
    // 2,000 tokens, two per created_at, 25 minutes apart: about 17 days, pages straddle midnights.
    await db.query(
      `INSERT INTO service_tokens (account_id, name, client_id, duration, secret_hash, created_at, updated_at)
       SELECT $1, 'day-' || g, 'd' || md5(g::text) || '.access', '8760h', md5('d' || g), now() - ((g / 2) * interval '25 minutes'), now()
         FROM generate_series(1, 2000) g`,
      [spread],
    );
    const everyPage = async (perPage: number) => {
      const last = Math.ceil((await countOf(spread)) / perPage);
      for (let page = 1; page <= last; page++) await expect(ids(spread, perPage, page)).resolves.toEqual(await reference(spread, perPage, page));
    };
    await everyPage(37);
    // A whole day gone, one old day thinned out, and late inserts into old days.
    await db.query(`DELETE FROM service_tokens WHERE account_id = $1 AND created_at >= now() - interval '6 days' AND created_at < now() - interval '5 days'`, [
      spread,
    ]);
    await db.query(`DELETE FROM service_tokens WHERE account_id = $1 AND name LIKE 'day-1%' AND created_at < now() - interval '10 days'`, [spread]);
    await db.query(
      `INSERT INTO service_tokens (account_id, name, client_id, duration, secret_hash, created_at, updated_at)
       SELECT $1, 'late-' || g, 'l' || md5(g::text) || '.access', '8760h', md5('l' || g), now() - (g * interval '7 hours'), now() FROM generate_series(1, 50) g`,
      [spread],
    );
    await everyPage(50);
    const total = await countOf(spread);
    await expect(h.rpc.request(ListServiceTokens, { accountId: spread, page: Math.ceil(total / 50) + 1, perPage: 50 })).resolves.toMatchObject({
      items: [],
      totalCount: total,
    });
  }, 120_000);

  it('counts a filter exactly up to 1,000 past the page, and flags a lower bound beyond', async () => {
    const broad = await h.rpc.request(ListServiceTokens, { accountId, search: 'bulk-', perPage: 20 });
    expect(broad).toMatchObject({ totalCount: 1020, totalCountExact: false });
    expect(broad.items.map((t) => t.id)).toEqual(
      (
        await db.query(`SELECT id FROM service_tokens WHERE account_id = $1 AND name LIKE 'bulk-%' ORDER BY created_at DESC, id DESC LIMIT 20`, [accountId])
      ).rows.map((r: { id: string }) => r.id),
    );
    // Deeper pages move the bound with them: "Next" stays possible while more match.
    const deeper = await h.rpc.request(ListServiceTokens, { accountId, search: 'bulk-', page: 60, perPage: 20 });
    expect(deeper).toMatchObject({ totalCount: 2200, totalCountExact: false });
    expect(deeper.items).toHaveLength(20);
    // bulk-1, bulk-10…19, bulk-100…199, bulk-1000…1999: 1,111 matches, counted exactly with a wider page.
    const narrow = await h.rpc.request(ListServiceTokens, { accountId, search: 'bulk-1', perPage: 200 });
    expect(narrow).toMatchObject({ totalCount: 1111, totalCountExact: true });
    const expiring = await h.rpc.request(ListServiceTokens, {
      accountId,
      expiresAfter: new Date().toISOString(),
      expiresBefore: new Date(Date.now() + 100.5 * 3_600_000).toISOString(),
    });
    expect(expiring).toMatchObject({ totalCount: 100, totalCountExact: true });
    expect(expiring.items[0]!.name).toBe('bulk-1');
  });
});
