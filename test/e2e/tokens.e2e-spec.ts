import Cloudflare from 'cloudflare';
import pg from 'pg';
import { startSystem, type System } from '../src/system.js';

/** The service-token lifecycle through the admin REST API, as a client would drive it. */
describe('service tokens over the admin REST API', () => {
  let sys: System;
  let accountId: string;
  let base: string;

  beforeAll(async () => {
    sys = await startSystem();
    accountId = await sys.defaultAccountId();
    base = `/client/v4/accounts/${accountId}/access/service_tokens`;
  });
  afterAll(async () => sys?.stop());

  const create = async (json: unknown) => {
    const res = await sys.api(base, { method: 'POST', json });
    expect(res.status).toBe(200);
    return res.body.result;
  };

  it('lists the default account', async () => {
    const res = await sys.api('/client/v4/accounts');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ success: true, errors: [], result: [{ id: expect.any(String), name: 'Default account' }] });
    expect(res.body.result_info).toMatchObject({ page: 1, count: 1, total_count: 1 });
  });

  it('requires the admin bearer token on every route', async () => {
    for (const path of ['/client/v4/accounts', base, `${base}/00000000-0000-4000-8000-000000000000`, `/client/v4/accounts/${accountId}/audit_logs`]) {
      const none = await sys.api(path, { headers: { authorization: '' } });
      expect(none.status).toBe(401);
      expect(none.body).toMatchObject({ success: false, result: null, errors: [{ code: expect.any(Number), message: expect.stringMatching(/Bearer/) }] });
      const wrong = await sys.api(path, { headers: { authorization: 'Bearer not-the-admin-token-at-all-xxxxxxxx' } });
      expect(wrong.status).toBe(403);
      expect(wrong.body.success).toBe(false);
    }
  });

  it('runs the whole lifecycle; the secret is returned only by create and rotate', async () => {
    const before = Date.now();
    const created = await create({ name: 'ci-deployer' });
    const fresh = await sys.api(`${base}/${created.id}`);
    expect(fresh.headers.get('cache-control')).toBe('no-store');
    expect(created).toMatchObject({
      name: 'ci-deployer',
      duration: '8760h',
      enabled: true,
      client_secret_version: 1,
      previous_client_secret_expires_at: null,
      last_seen_at: null,
    });
    expect(created.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.client_id).toMatch(/^[0-9a-f]{32}\.access$/);
    expect(created.client_secret).toMatch(/^gatehouse_[0-9A-Za-z]{49}$/);
    const lifetime = Date.parse(created.expires_at) - Date.parse(created.created_at);
    expect(lifetime).toBe(365 * 24 * 3600 * 1000);
    expect(Date.parse(created.created_at)).toBeGreaterThanOrEqual(before - 1000);
    const secret: string = created.client_secret;

    const reads = [await sys.api(`${base}/${created.id}`), await sys.api(`${base}?per_page=100`), await sys.api(`${base}?name=ci-deployer`)];
    for (const read of reads) {
      expect(read.status).toBe(200);
      expect(JSON.stringify(read.body)).not.toContain(secret);
      expect(JSON.stringify(read.body)).not.toContain('client_secret"');
    }

    const refreshed = await sys.api(`${base}/${created.id}/refresh`, { method: 'POST' });
    expect(refreshed.status).toBe(200);
    expect(Date.parse(refreshed.body.result.expires_at)).toBeGreaterThanOrEqual(Date.parse(created.expires_at));
    expect(refreshed.body.result).not.toHaveProperty('client_secret');

    const grace = new Date(Date.now() + 3_600_000).toISOString();
    const rotated = await sys.api(`${base}/${created.id}/rotate`, { method: 'POST', json: { previous_client_secret_expires_at: grace } });
    expect(rotated.status).toBe(200);
    expect(rotated.body.result).toMatchObject({ client_secret_version: 2, previous_client_secret_expires_at: grace });
    expect(rotated.body.result.client_secret).toMatch(/^gatehouse_/);
    expect(rotated.body.result.client_secret).not.toBe(secret);

    const updated = await sys.api(`${base}/${created.id}`, { method: 'PUT', json: { name: 'ci-deployer-2', duration: '30m', enabled: false } });
    expect(updated.status).toBe(200);
    expect(updated.body.result).toMatchObject({ name: 'ci-deployer-2', duration: '30m', enabled: false });
    const thirty = Date.parse(updated.body.result.expires_at) - Date.parse(updated.body.result.updated_at);
    expect(thirty).toBe(30 * 60 * 1000);
    expect(JSON.stringify(updated.body)).not.toContain(rotated.body.result.client_secret);

    const deleted = await sys.api(`${base}/${created.id}`, { method: 'DELETE' });
    expect(deleted.status).toBe(200);
    expect(deleted.body.result.id).toBe(created.id);
    const gone = await sys.api(`${base}/${created.id}`);
    expect(gone.status).toBe(404);
    expect(gone.body).toMatchObject({ success: false, errors: [{ message: expect.stringContaining('not found') }] });

    const audit = await sys.api(`/client/v4/accounts/${accountId}/audit_logs?resource_id=${created.id}`);
    expect(audit.status).toBe(200);
    expect(audit.body.result.map((e: { action: { type: string } }) => e.action.type).reverse()).toEqual([
      'service_token.created',
      'service_token.refreshed',
      'service_token.rotated',
      'service_token.updated',
      'service_token.deleted',
    ]);
    expect(audit.body.result.at(-1)).toMatchObject({ actor: { type: 'admin' }, resource: { type: 'service_token', id: created.id, name: 'ci-deployer' } });
    expect(JSON.stringify(audit.body)).not.toContain(secret);
  });

  it('keeps the previous secret for its grace period only, and lets PUT move or end it', async () => {
    const t = await create({ name: 'grace' });
    const grace = new Date(Date.now() + 600_000).toISOString();
    const rotated = (await sys.api(`${base}/${t.id}/rotate`, { method: 'POST', json: { previous_client_secret_expires_at: grace } })).body.result;
    expect(rotated.previous_client_secret_expires_at).toBe(grace);

    const later = new Date(Date.now() + 7_200_000).toISOString();
    const moved = await sys.api(`${base}/${t.id}`, { method: 'PUT', json: { previous_client_secret_expires_at: later } });
    expect(moved.body.result.previous_client_secret_expires_at).toBe(later);

    const ended = await sys.api(`${base}/${t.id}`, { method: 'PUT', json: { previous_client_secret_expires_at: new Date(Date.now() - 1000).toISOString() } });
    expect(ended.body.result.previous_client_secret_expires_at).toBeNull();

    const noGrace = (await sys.api(`${base}/${t.id}/rotate`, { method: 'POST' })).body.result;
    expect(noGrace).toMatchObject({ client_secret_version: 3, previous_client_secret_expires_at: null });

    const db = new pg.Client({ connectionString: sys.tokenDb.url });
    await db.connect();
    try {
      const { rows } = await db.query('SELECT previous_secret_hash FROM service_tokens WHERE id = $1', [t.id]);
      expect(rows[0].previous_secret_hash).toBeNull();
    } finally {
      await db.end();
    }
  });

  it('pages and searches', async () => {
    const tag = `pg${Date.now().toString(36)}`;
    for (let i = 0; i < 5; i++) await create({ name: `${tag}-${i}`, duration: '1h' });
    const page = await sys.api(`${base}?search=${tag}&page=2&per_page=2`);
    expect(page.status).toBe(200);
    expect(page.body.result).toHaveLength(2);
    expect(page.body.result_info).toEqual({ page: 2, per_page: 2, count: 2, total_count: 5, total_pages: 3 });
  });

  it('filters by expiry window, soonest first', async () => {
    const tag = `exp${Date.now().toString(36)}`;
    await create({ name: `${tag}-2h`, duration: '2h' });
    await create({ name: `${tag}-1h`, duration: '1h' });
    await create({ name: `${tag}-forever`, duration: 'forever' });
    await create({ name: `${tag}-48h`, duration: '48h' });
    const after = new Date().toISOString();
    const before = new Date(Date.now() + 24 * 3_600_000).toISOString();
    const res = await sys.api(`${base}?search=${tag}&expires_after=${after}&expires_before=${before}`);
    expect(res.status).toBe(200);
    expect(res.body.result.map((t: { name: string }) => t.name)).toEqual([`${tag}-1h`, `${tag}-2h`]);
    expect((await sys.api(`${base}?expires_before=tomorrow`)).status).toBe(400);
  });

  it('keeps accounts apart', async () => {
    const other = await sys.api('/client/v4/accounts', { method: 'POST', json: { name: 'Tenant B' } });
    expect(other.status).toBe(200);
    const otherId = other.body.result.id;
    const mine = await create({ name: 'tenant-a-only' });
    const otherBase = `/client/v4/accounts/${otherId}/access/service_tokens`;
    expect((await sys.api(`${otherBase}/${mine.id}`)).status).toBe(404);
    expect((await sys.api(`${otherBase}/${mine.id}`, { method: 'DELETE' })).status).toBe(404);
    expect((await sys.api(`${otherBase}/${mine.id}/rotate`, { method: 'POST' })).status).toBe(404);
    const list = await sys.api(otherBase);
    expect(list.body.result).toEqual([]);
    expect((await sys.api(`/client/v4/accounts/00000000-0000-4000-8000-000000000000/access/service_tokens`)).status).toBe(404);
    expect((await sys.api(`${base}/${mine.id}`)).status).toBe(200);
  });

  it('answers bad input with a 400 in the envelope that names the problem, never a 500', async () => {
    const cases: Array<{ path?: string; method?: string; json?: unknown; body?: string; headers?: Record<string, string>; match: RegExp }> = [
      { json: { name: 'x', colour: 'red' }, match: /colour/ },
      { json: { name: '' }, match: /name/ },
      { json: { name: 'x'.repeat(10_000) }, match: /name/ },
      { json: { name: 'ok', duration: 'soon' }, match: /duration/ },
      { json: { name: 'ok', duration: '-5h' }, match: /duration.*negative/ },
      { json: { name: 'ok', duration: '99999999h' }, match: /duration/ },
      { json: { name: 'ok', duration: '0s' }, match: /duration/ },
      { json: { name: 42 }, match: /name/ },
      { json: ['name'], match: /object|expected/i },
      { json: {}, match: /name/ },
      { body: '{"name": ', headers: { 'content-type': 'application/json' }, match: /JSON/ },
      { body: 'name=x', headers: { 'content-type': 'application/x-www-form-urlencoded' }, match: /Content-Type/ },
      { body: '{"name":"x"}', headers: { 'content-type': 'text/plain' }, match: /Content-Type/ },
      { path: `${base}/not-a-uuid`, method: 'GET', match: /token_id/ },
      { path: `/client/v4/accounts/nope/access/service_tokens`, method: 'GET', match: /account_id/ },
      { path: `${base}?per_page=0`, method: 'GET', match: /per_page/ },
      { path: `${base}?page=abc`, method: 'GET', match: /page/ },
      { path: `${base}?unknown=1`, method: 'GET', match: /unknown/ },
    ];
    for (const c of cases) {
      const res = await sys.api(c.path ?? base, { method: c.method ?? 'POST', json: c.json, body: c.body, headers: c.headers });
      expect({ case: c, status: res.status }).toEqual({ case: c, status: 400 });
      expect(res.body.success).toBe(false);
      expect(res.body.errors.map((e: { message: string }) => e.message).join(' ')).toMatch(c.match);
    }
    const t = await create({ name: 'put-target' });
    const badPut = await sys.api(`${base}/${t.id}`, { method: 'PUT', json: { enabled: 'yes' } });
    expect(badPut.status).toBe(400);
    const badRotate = await sys.api(`${base}/${t.id}/rotate`, { method: 'POST', json: { previous_client_secret_expires_at: 'tomorrow' } });
    expect(badRotate.status).toBe(400);
    const noPrevious = await sys.api(`${base}/${t.id}`, { method: 'PUT', json: { previous_client_secret_expires_at: new Date().toISOString() } });
    expect(noPrevious.status).toBe(400);
    const unknownRoute = await sys.api('/client/v4/nothing-here');
    expect(unknownRoute.status).toBe(404);
    expect(unknownRoute.body.success).toBe(false);
    const unknownToken = await sys.api(`${base}/00000000-0000-4000-8000-000000000000/refresh`, { method: 'POST' });
    expect(unknownToken.status).toBe(404);
  });

  it('stores no plaintext secret anywhere in the database', async () => {
    const a = await create({ name: 'plaintext-check' });
    const b = (
      await sys.api(`${base}/${a.id}/rotate`, { method: 'POST', json: { previous_client_secret_expires_at: new Date(Date.now() + 60_000).toISOString() } })
    ).body.result;
    const db = new pg.Client({ connectionString: sys.tokenDb.url });
    await db.connect();
    try {
      const { rows: tables } = await db.query(`SELECT tablename FROM pg_tables WHERE schemaname = 'public'`);
      expect(tables.length).toBeGreaterThanOrEqual(3);
      for (const { tablename } of tables) {
        const { rows } = await db.query(`SELECT t::text AS row FROM "${tablename}" t`);
        const dump = rows.map((r) => r.row).join('\n');
        for (const secret of [a.client_secret, b.client_secret]) {
          expect(dump).not.toContain(secret);
          expect(dump).not.toContain(secret.slice(10, 40));
        }
      }
    } finally {
      await db.end();
    }
  });

  it('works with the official Cloudflare TypeScript SDK by changing only the base URL', async () => {
    const cf = new Cloudflare({ apiToken: sys.adminToken, baseURL: `${sys.apiUrl}/client/v4`, maxRetries: 0 });
    const accounts = [];
    for await (const account of cf.accounts.list()) accounts.push(account);
    expect(accounts.map((a) => a.id)).toContain(accountId);

    const created = await cf.zeroTrust.access.serviceTokens.create({ account_id: accountId, name: 'sdk-token', duration: '720h' });
    expect(created.client_secret).toMatch(/^gatehouse_/);
    expect(created.duration).toBe('720h');

    const listed = [];
    for await (const t of cf.zeroTrust.access.serviceTokens.list({ account_id: accountId, name: 'sdk-token' })) listed.push(t);
    expect(listed.map((t) => t.id)).toEqual([created.id]);

    const got = await cf.zeroTrust.access.serviceTokens.get(created.id!, { account_id: accountId });
    expect(got).toMatchObject({ id: created.id, name: 'sdk-token' });
    expect(got).not.toHaveProperty('client_secret');

    const updated = await cf.zeroTrust.access.serviceTokens.update(created.id!, { account_id: accountId, name: 'sdk-renamed' });
    expect(updated.name).toBe('sdk-renamed');

    const refreshed = await cf.zeroTrust.access.serviceTokens.refresh(created.id!, { account_id: accountId });
    expect(refreshed.expires_at).toBeDefined();

    const rotated = await cf.zeroTrust.access.serviceTokens.rotate(created.id!, { account_id: accountId });
    expect(rotated.client_secret).toMatch(/^gatehouse_/);
    expect(rotated.client_secret).not.toBe(created.client_secret);

    const deleted = await cf.zeroTrust.access.serviceTokens.delete(created.id!, { account_id: accountId });
    expect(deleted.id).toBe(created.id);
    await expect(cf.zeroTrust.access.serviceTokens.get(created.id!, { account_id: accountId })).rejects.toMatchObject({ status: 404 });
    await expect(
      new Cloudflare({ apiToken: 'wrong-token-wrong-token-wrong', baseURL: `${sys.apiUrl}/client/v4`, maxRetries: 0 }).zeroTrust.access.serviceTokens.get(
        created.id!,
        { account_id: accountId },
      ),
    ).rejects.toMatchObject({ status: 403 });
  });

  it('serves an OpenAPI document and a docs page', async () => {
    const doc = await fetch(`${sys.apiUrl}/client/v4/openapi.json`);
    expect(doc.status).toBe(200);
    const body = (await doc.json()) as { openapi: string; paths: Record<string, unknown> };
    expect(body.openapi).toBe('3.1.0');
    expect(Object.keys(body.paths)).toEqual(expect.arrayContaining(['/client/v4/accounts/{account_id}/access/service_tokens/{token_id}/rotate']));
    const page = await fetch(`${sys.apiUrl}/docs`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await page.text()).toContain('swagger-ui');
    const asset = await fetch(`${sys.apiUrl}/docs/assets/swagger-ui-bundle.js`);
    expect(asset.status).toBe(200);
  });

  it('answers 503 in the envelope, not 500, while the token service is down', async () => {
    await sys.processes.get('token-service')!.kill();
    const res = await sys.api(base);
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ success: false, result: null, errors: [{ message: expect.stringMatching(/service|answer/i) }] });
    const health = await fetch(`${sys.apiUrl}/healthz`);
    expect(((await health.json()) as { result: { token_service: string } }).result.token_service).toBe('down');
  });
});
