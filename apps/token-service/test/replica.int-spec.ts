import {
  CreateApplication,
  CreatePolicy,
  CreateServiceToken,
  DeleteApplication,
  DeleteServiceToken,
  PAGE_ENVELOPE_BYTES,
  TOKEN_FIELD,
  TokenRows,
  ReplicaHead,
  UpdateServiceToken,
  type Actor,
} from '@gatehouse/contracts';
import pg from 'pg';
import { ReplicaRepository } from '../src/applications/replica.repository.js';
import { createDataSource, migrate } from '../src/database/data-source.js';
import { adminDatabaseUrl } from '@gatehouse/testing';
import { FEEDS, changes, pullAll, startHarness, type TokenServiceHarness } from './support.js';

const actor: Actor = { type: 'admin', id: 'replica-test' };

describe.each(FEEDS)('replica.%s change feed', (feed) => {
  let h: TokenServiceHarness;
  beforeAll(async () => {
    h = await startHarness([], 'replica-test', { maxPayload: 65_536 });
    // 400 tokens through the schema (what a seed does), at revision 0; every third name needs
    // escapes (JSON inside JSON in a v3 page: the byte bound must count them).
    const client = new pg.Client({ connectionString: h.db.url });
    await client.connect();
    await client.query(
      `INSERT INTO service_tokens (account_id, name, client_id, duration, secret_hash, created_at, updated_at)
       SELECT $1, 'seed-' || g || CASE WHEN g % 3 = 0 THEN E' "quoted" \\\\ é\\n' ELSE '' END, 'seed' || g || '.access', '8760h', repeat('a', 64), now(), now()
         FROM generate_series(1, 400) g`,
      [h.defaultAccountId],
    );
    await client.end();
  });
  afterAll(() => h.stop());

  it('pages everything from -1 within the byte bound, each record once, then follows from the head', async () => {
    const accountId = h.defaultAccountId;
    const app = await h.rpc.request(CreateApplication, { accountId, name: 'a', domain: 'feed.example.com', actor });
    await h.rpc.request(CreatePolicy, { accountId, appId: app.id, name: 'p', decision: 'non_identity', include: [{ anyValidServiceToken: {} }], actor });
    const maxBytes = 65_536 - PAGE_ENVELOPE_BYTES;
    const all = await pullAll(h.rpc, { since: -1, maxBytes }, feed);
    expect(all.tokens).toHaveLength(400);
    expect(new Set(all.tokens.map((t) => t.id)).size).toBe(400);
    expect(all.tokens.filter((t) => t.name.endsWith(' "quoted" \\ é\n'))).toHaveLength(133);
    expect(all.apps.map((a) => a.id)).toEqual([app.id]);
    expect(all.policies).toHaveLength(1);
    expect(all.pages.length).toBeGreaterThan(1);
    for (const p of all.pages) expect(p.bytes).toBeLessThanOrEqual(maxBytes + 200);
    await expect(h.rpc.request(ReplicaHead, {})).resolves.toEqual({ head: all.revision });
    // A client that asks for more than the server's max_payload still gets pages that fit it.
    const greedy = await pullAll(h.rpc, { since: -1, maxBytes: 200_000 }, feed);
    expect(greedy.tokens).toHaveLength(400);
    for (const p of greedy.pages) expect(p.bytes).toBeLessThanOrEqual(maxBytes + 200);

    // Nothing new: one empty page.
    await expect(changes(h.rpc, feed, { since: all.revision })).resolves.toMatchObject({ head: all.revision, records: [], next: null });

    // An update, a token delete and an app delete (its policy goes with it) arrive in revision order.
    const victim = all.tokens[10]!;
    const created = await h.rpc.request(CreateServiceToken, { accountId, name: 'new', actor });
    await h.rpc.request(UpdateServiceToken, { accountId, tokenId: all.tokens[0]!.id, name: 'renamed', actor });
    await h.rpc.request(DeleteServiceToken, { accountId, tokenId: victim.id, actor });
    await h.rpc.request(DeleteApplication, { accountId, appId: app.id, actor });
    const page = await changes(h.rpc, feed, { since: all.revision });
    expect(page.head).toBe(all.revision + 4);
    const gone = [app.id, all.policies[0]!.id].sort();
    expect(page.records.map((r) => [r.revision - all.revision, r.type, r.type === 'token' ? r.token.id : r.type === 'tombstone' ? r.id : null])).toEqual([
      [1, 'token', created.id],
      [2, 'token', all.tokens[0]!.id],
      [3, 'tombstone', victim.id],
      [4, 'tombstone', gone[0]],
      [4, 'tombstone', gone[1]],
    ]);
    // A notifier asks for tokens only.
    const tokensOnly = await changes(h.rpc, feed, { since: all.revision, entities: ['token'] });
    expect(tokensOnly.records.map((r) => r.type)).toEqual(['token', 'token', 'tombstone']);
  });

  it('never skips a row that changes while a replica pages through', async () => {
    const start = await pullAll(h.rpc, { since: -1 }, feed);
    const ids = new Set<string>();
    let after: [number, number, string] | undefined;
    let first = true;
    let live = new Map(start.tokens.map((t) => [t.id, t]));
    for (;;) {
      const page = await changes(h.rpc, feed, { since: -1, maxRecords: 50, ...(after ? { after } : {}) });
      for (const r of page.records) {
        if (r.type === 'token') ids.add(r.token.id);
        if (r.type === 'tombstone') ids.delete(r.id);
      }
      if (first) {
        // Change a token the replica has already seen and delete one it has not reached yet.
        first = false;
        const seen = page.records.find((r) => r.type === 'token')!;
        const later = [...live.values()].find((t) => !ids.has(t.id))!;
        await h.rpc.request(UpdateServiceToken, { accountId: h.defaultAccountId, tokenId: seen.type === 'token' ? seen.token.id : '', enabled: false, actor });
        await h.rpc.request(DeleteServiceToken, { accountId: h.defaultAccountId, tokenId: later.id, actor });
        live.delete(later.id);
      }
      if (!page.next) break;
      after = page.next;
    }
    live = new Map((await pullAll(h.rpc, { since: -1 }, feed)).tokens.map((t) => [t.id, t]));
    expect([...ids].sort()).toEqual([...live.keys()].sort());
  });

  it('keeps a page with no tokens (apps and policies only) within the byte bound', async () => {
    // A page is sized for typical token rows; records of other entities are larger, so a page of
    // only those must still be counted (and cut) by its bytes.
    const accountId = h.defaultAccountId;
    const before = (await h.rpc.request(ReplicaHead, {})).head;
    const ids: string[] = [];
    for (let k = 0; k < 240; k += 20) {
      const made = await Promise.all(
        Array.from({ length: 20 }, (_, j) =>
          h.rpc.request(CreateApplication, { accountId, name: `bulky-${k + j}-${'n'.repeat(200)}`, domain: `bulky-${k + j}.feed.example.com`, actor }),
        ),
      );
      ids.push(...made.map((a) => a.id));
    }
    const maxBytes = 65_536 - PAGE_ENVELOPE_BYTES;
    for (const entities of [undefined, ['app', 'policy'] as const]) {
      const all = await pullAll(h.rpc, { since: before, maxBytes, ...(entities ? { entities: [...entities] } : {}) }, feed);
      expect(all.apps.map((a) => a.id).sort()).toEqual([...ids].sort());
      expect(all.pages.length).toBeGreaterThan(1);
      for (const p of all.pages) expect(p.bytes).toBeLessThanOrEqual(maxBytes + 200);
    }
    for (const id of ids) await h.rpc.request(DeleteApplication, { accountId, appId: id, actor });
  });

  it('purges tombstones past the retention and reports the floor, so a replica behind it reloads', async () => {
    const t = await h.rpc.request(CreateServiceToken, { accountId: h.defaultAccountId, name: 'doomed', actor });
    const before = (await h.rpc.request(ReplicaHead, {})).head;
    await h.rpc.request(DeleteServiceToken, { accountId: h.defaultAccountId, tokenId: t.id, actor });
    const ds = await createDataSource(h.db.url).initialize();
    try {
      await expect(new ReplicaRepository(ds).purgeTombstones(new Date(Date.now() + 60_000))).resolves.toBeGreaterThan(0);
    } finally {
      await ds.destroy();
    }
    const page = await changes(h.rpc, feed, { since: before });
    expect(page.floor).toBe(before + 1);
    expect(page.records).toEqual([]);
  });
  it('cuts pages of large, escape-heavy tokens that share one revision within the byte bound, each token once', async () => {
    // Rows far past the typical size make the first read overflow: the page is read again with
    // fewer rows, and a page cut inside one revision must resume right after its last row.
    const before = (await h.rpc.request(ReplicaHead, {})).head;
    const client = new pg.Client({ connectionString: h.db.url });
    await client.connect();
    const kinds = [`repeat('"', 255)`, `repeat(E'\\\\', 255)`, `repeat(U&'\\+01F600', 127)`, `repeat(E'\\x01', 255)`, `repeat(U&'\\2028', 255)`];
    await client.query(
      `WITH r AS (SELECT nextval('replica_revision_seq') AS v)
       INSERT INTO service_tokens (account_id, name, client_id, duration, secret_hash, previous_secret_hash, previous_secret_expires_at, expires_at, revision, created_at, updated_at)
       SELECT $1, CASE g % 5 ${kinds.map((k, i) => `WHEN ${i} THEN ${k}`).join(' ')} END, 'X' || g || repeat('"', 40), '8760h', repeat('a', 64), repeat('b', 64), now(), now(), r.v, now(), now()
         FROM r, generate_series(1, 300) g`,
      [h.defaultAccountId],
    );
    const inserted: Array<{ id: string; name: string }> = (await client.query(`SELECT id, name FROM service_tokens WHERE client_id LIKE 'X%'`)).rows;
    await client.end();
    const maxBytes = 65_536 - PAGE_ENVELOPE_BYTES;
    const all = await pullAll(h.rpc, { since: before, maxBytes }, feed);
    const got = all.tokens.filter((t) => t.clientId.startsWith('X'));
    expect(got.map((t) => t.id).sort()).toEqual(inserted.map((t) => t.id).sort());
    const names = new Map(inserted.map((t) => [t.id, t.name]));
    for (const t of got) expect(t.name).toBe(names.get(t.id));
    // Several pages, each cut inside the one revision (v3 rows need no escapes: fewer pages than v2).
    expect(all.pages.length).toBeGreaterThan(2);
    for (const p of all.pages) expect(p.bytes).toBeLessThanOrEqual(maxBytes + 200);
  });
});

describe('replica.v3 dates outside years 1-9999', () => {
  let h: TokenServiceHarness;
  beforeAll(async () => {
    h = await startHarness([], 'replica-v3-dates', { maxPayload: 65_536 });
  });
  afterAll(() => h.stop());

  it('pages tokens set to infinity, -infinity or beyond by hand: later reads as no expiry, earlier as 0001-01-01', async () => {
    const client = new pg.Client({ connectionString: h.db.url });
    await client.connect();
    const dates = ['infinity', '-infinity', '12000-01-01 00:00:00+00', '4000-01-01 00:00:00+00 BC', '1960-05-05 12:00:00.123+00'];
    await client.query(
      `INSERT INTO service_tokens (account_id, name, client_id, duration, secret_hash, previous_secret_hash, previous_secret_expires_at, expires_at, revision, created_at, updated_at)
       SELECT $1, 'date-' || d.i, 'date-' || d.i || '.access', '8760h', repeat('a', 64), repeat('b', 64), d.at::timestamptz, d.at::timestamptz, nextval('replica_revision_seq'), now(), now()
         FROM unnest($2::text[]) WITH ORDINALITY AS d(at, i)`,
      [h.defaultAccountId, dates],
    );
    await client.end();
    const all = await pullAll(h.rpc, { since: -1, maxBytes: 65_536 - PAGE_ENVELOPE_BYTES }, 'v3');
    const byName = new Map(all.tokens.map((t) => [t.name, t]));
    const earliest = '0001-01-01T00:00:00.000Z';
    const expected = [null, earliest, null, earliest, '1960-05-05T12:00:00.123Z'];
    expect(dates.map((_, i) => byName.get(`date-${i + 1}`)?.expiresAt)).toEqual(expected);
    expect(dates.map((_, i) => byName.get(`date-${i + 1}`)?.previousClientSecretExpiresAt)).toEqual(expected);
  });

  it('pages tokens whose ids are not RFC 9562 UUIDs (written by hand: any version and variant bits)', async () => {
    const client = new pg.Client({ connectionString: h.db.url });
    await client.connect();
    // Version nibble 0 and variant bits 00: PostgreSQL takes them; a strict UUID check did not.
    await client.query(
      `INSERT INTO service_tokens (id, account_id, name, client_id, duration, secret_hash, revision, created_at, updated_at)
       SELECT ('00000000-0000-0000-0000-' || lpad(to_hex(g), 12, '0'))::uuid, $1, 'odd-id-' || g, 'odd' || g || '.access', '8760h', repeat('a', 64),
              nextval('replica_revision_seq'), now(), now()
         FROM generate_series(1, 300) g`,
      [h.defaultAccountId],
    );
    await client.end();
    // Small pages: their cursors land on these ids.
    const all = await pullAll(h.rpc, { since: -1, maxBytes: 4_096 }, 'v3');
    expect(all.tokens.filter((t) => t.name.startsWith('odd-id-'))).toHaveLength(300);
  });
});

describe('replica.v3 rows on a database that is not UTF8', () => {
  it('sends each text as UTF-8 with its UTF-8 length (LATIN1: é is one byte stored, two sent)', async () => {
    const name = `gh_test_latin1_${Date.now().toString(36)}`;
    const admin = new pg.Client({ connectionString: adminDatabaseUrl() });
    await admin.connect();
    await admin.query(`CREATE DATABASE "${name}" ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0`);
    const url = adminDatabaseUrl().replace(/\/[^/?]*(\?|$)/, `/${name}$1`);
    const ds = createDataSource(url);
    try {
      await migrate(url);
      await ds.initialize();
      const accountId = (await ds.query<Array<{ id: string }>>(`SELECT id FROM accounts LIMIT 1`))[0]!.id;
      await ds.query(
        `INSERT INTO service_tokens (account_id, name, client_id, duration, secret_hash, expires_at, revision, created_at, updated_at)
         VALUES ($1, 'café crème', 'latin-é.access', '8760h', repeat('a', 64), now(), nextval('replica_revision_seq'), now(), now())`,
        [accountId],
      );
      const page = await new ReplicaRepository(ds).readCompact([-1, 0, '00000000-0000-0000-0000-000000000000'], 100, 250_000, ['token']);
      const rows = TokenRows.decode(page.tokens);
      expect(rows.length).toBe(1);
      expect(rows.text(0, TOKEN_FIELD.NAME)).toBe('café crème');
      expect(rows.fieldLength(0, TOKEN_FIELD.NAME)).toBe(12);
      expect(rows.text(0, TOKEN_FIELD.CLIENT_ID)).toBe('latin-é.access');
    } finally {
      if (ds.isInitialized) await ds.destroy();
      await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await admin.end();
    }
  });
});
