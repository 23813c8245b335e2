import { randomUUID } from 'node:crypto';
import Cloudflare from 'cloudflare';
import { startSystem, type System } from '../src/system.js';

/** Access applications and Service Auth policies through the admin REST API, as a client would drive them. */
describe('access applications and policies over the admin REST API', () => {
  let sys: System;
  let accountId: string;
  let apps: string;

  beforeAll(async () => {
    sys = await startSystem();
    accountId = await sys.defaultAccountId();
    apps = `/client/v4/accounts/${accountId}/access/apps`;
  });
  afterAll(async () => sys?.stop());

  const domain = (tag: string) => `${tag}-${randomUUID().slice(0, 8)}.example.com`;
  const ok = async (path: string, init: RequestInit & { json?: unknown } = {}) => {
    const res = await sys.api(path, init);
    if (res.status !== 200) throw new Error(`${init.method ?? 'GET'} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
    expect(res.body).toMatchObject({ success: true, errors: [] });
    return res.body;
  };
  const newApp = async (tag: string) => (await ok(apps, { method: 'POST', json: { name: tag, domain: domain(tag) } })).result;
  const newToken = async (name: string) =>
    (await ok(`/client/v4/accounts/${accountId}/access/service_tokens`, { method: 'POST', json: { name } })).result as { id: string };
  const expectError = (res: { status: number; body: any }, status: number, pattern: RegExp) => {
    expect(res.status).toBe(status);
    expect(res.body).toMatchObject({ success: false, result: null });
    expect(res.body.errors.map((e: { message: string }) => e.message).join('\n')).toMatch(pattern);
  };

  it("creates, gets, lists, updates and deletes an application in Cloudflare's shape", async () => {
    const d = domain('crud');
    const created = (await ok(apps, { method: 'POST', json: { name: 'Internal API', domain: d, type: 'self_hosted', upstream: 'http://127.0.0.1:9' } })).result;
    expect(created).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      name: 'Internal API',
      domain: d,
      type: 'self_hosted',
      session_duration: '24h',
      aud: expect.stringMatching(/^[0-9a-f]{64}$/),
      upstream: 'http://127.0.0.1:9',
      read_service_tokens_from_header: null,
      sessions_revoked_at: null,
      destinations: [{ type: 'public', uri: d }],
      http_only_cookie_attribute: true,
      same_site_cookie_attribute: null,
      path_cookie_attribute: false,
      service_auth_401_redirect: false,
      tags: [],
      app_launcher_visible: true,
      policies: [],
      created_at: expect.any(String),
      updated_at: expect.any(String),
    });
    await expect(ok(`${apps}/${created.id}`)).resolves.toMatchObject({ result: created });
    const listed = await ok(`${apps}?per_page=100`);
    expect(listed.result.map((a: { id: string }) => a.id)).toContain(created.id);
    expect(listed.result_info).toMatchObject({ page: 1, per_page: 100 });

    const updated = (
      await ok(`${apps}/${created.id}`, {
        method: 'PUT',
        json: { name: 'Renamed', domain: `${d}/v2`, session_duration: '1h', read_service_tokens_from_header: 'X-Gatehouse-Token' },
      })
    ).result;
    expect(updated).toMatchObject({
      name: 'Renamed',
      domain: `${d}/v2`,
      session_duration: '1h',
      read_service_tokens_from_header: 'X-Gatehouse-Token',
      upstream: 'http://127.0.0.1:9',
      aud: created.aud,
    });

    // Same domain twice in one account: 409.
    expectError(await sys.api(apps, { method: 'POST', json: { name: 'dup', domain: `${d}/v2` } }), 409, /domain/);

    await expect(ok(`${apps}/${created.id}`, { method: 'DELETE' })).resolves.toMatchObject({ result: { id: created.id } });
    expectError(await sys.api(`${apps}/${created.id}`), 404, /not found/i);
  });

  it('rejects bad input with a 400 naming the field, and unknown ids with a 404', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ name: 'x' }, /^domain:/m],
      [{ name: '', domain: domain('bad') }, /^name:/m],
      [{ name: 'x', domain: 'https://scheme.example.com' }, /^domain:/m],
      [{ name: 'x', domain: domain('bad'), type: 'saas' }, /^type:.*self_hosted/m],
      [{ name: 'x', domain: domain('bad'), session_duration: 'soon' }, /^session_duration:/m],
      [{ name: 'x', domain: domain('bad'), session_duration: 'forever' }, /^session_duration:.*finite/m],
      [{ name: 'x', domain: domain('bad'), upstream: 'ftp://x' }, /^upstream:/m],
      [{ name: 'x', domain: domain('bad'), read_service_tokens_from_header: 'bad header' }, /^read_service_tokens_from_header:/m],
      [{ name: 'x', domain: domain('bad'), allowed_idps: [] }, /allowed_idps/],
    ];
    for (const [json, pattern] of cases) expectError(await sys.api(apps, { method: 'POST', json }), 400, pattern);
    expectError(await sys.api(`${apps}/not-a-uuid`), 400, /app_id/);
    expectError(await sys.api(`${apps}?per_page=0`), 400, /per_page/);
    expectError(await sys.api(`/client/v4/accounts/${randomUUID()}/access/apps`), 404, /Account/);
    const ghost = randomUUID();
    expectError(await sys.api(`${apps}/${ghost}`), 404, /not found/);
    expectError(await sys.api(`${apps}/${ghost}`, { method: 'PUT', json: { name: 'x', domain: domain('x') } }), 404, /not found/);
    expectError(await sys.api(`${apps}/${ghost}`, { method: 'DELETE' }), 404, /not found/);
    expectError(await sys.api(`${apps}/${ghost}/revoke_tokens`, { method: 'POST' }), 404, /not found/);
    expectError(await sys.api(`${apps}/${ghost}/policies`), 404, /not found/);

    const app = await newApp('policy-input');
    const policies = `${apps}/${app.id}/policies`;
    const token = await newToken(`bad-input-${randomUUID()}`);
    const policyCases: Array<[unknown, RegExp]> = [
      [{ name: 'p', decision: 'allow', include: [{ any_valid_service_token: {} }] }, /^decision:.*non_identity/m],
      [{ name: 'p', decision: 'non_identity', include: [] }, /^include:/m],
      [{ name: 'p', decision: 'non_identity', include: [{ email: { email: 'a@b.c' } }] }, /include\.0.*email/],
      [{ name: 'p', decision: 'non_identity', include: [{}] }, /^include\.0:.*service_token/m],
      [{ name: 'p', decision: 'non_identity', include: [{ service_token: { token_id: 'nope' } }] }, /^include\.0\.service_token\.token_id:/m],
      [{ name: 'p', decision: 'non_identity', include: [{ any_valid_service_token: {} }], precedence: 0 }, /^precedence:/m],
      // A token id that is well-formed but not a token of this account names the rule.
      [
        { name: 'p', decision: 'non_identity', include: [{ service_token: { token_id: token.id } }], exclude: [{ service_token: { token_id: randomUUID() } }] },
        /^exclude\.0\.service_token\.token_id: names no service token/m,
      ],
    ];
    for (const [json, pattern] of policyCases) expectError(await sys.api(policies, { method: 'POST', json }), 400, pattern);
    expectError(await sys.api(`${policies}/${randomUUID()}`), 404, /not found/);
    expectError(await sys.api(`${policies}/nope`), 400, /policy_id/);
    expectError(await sys.api(`${policies}/${randomUUID()}`, { method: 'DELETE' }), 404, /not found/);
    expectError(await sys.api(`/client/v4/accounts/${accountId}/access/service_tokens/${randomUUID()}/policies`), 404, /not found/);
  });

  it('manages policies with Cloudflare rule forms and lists the policies that name a token', async () => {
    const app = await newApp('policies');
    const policies = `${apps}/${app.id}/policies`;
    const token = await newToken(`policy-${randomUUID()}`);
    const first = (
      await ok(policies, { method: 'POST', json: { name: 'ci only', decision: 'non_identity', include: [{ service_token: { token_id: token.id } }] } })
    ).result;
    expect(first).toEqual({
      id: expect.any(String),
      name: 'ci only',
      decision: 'non_identity',
      precedence: 1,
      include: [{ service_token: { token_id: token.id } }],
      require: [],
      exclude: [],
      created_at: expect.any(String),
      updated_at: expect.any(String),
    });
    const second = (
      await ok(policies, {
        method: 'POST',
        json: { name: 'anyone', decision: 'non_identity', include: [{ any_valid_service_token: {} }], exclude: [{ service_token: { token_id: token.id } }] },
      })
    ).result;
    expect(second.precedence).toBe(2);

    const listed = await ok(policies);
    expect(listed.result.map((p: { id: string }) => p.id)).toEqual([first.id, second.id]);
    const page2 = await ok(`${policies}?page=2&per_page=1`);
    expect(page2.result.map((p: { id: string }) => p.id)).toEqual([second.id]);
    expect(page2.result_info).toMatchObject({ page: 2, per_page: 1, count: 1, total_count: 2, total_pages: 2 });
    await expect(ok(`${policies}?page=3&per_page=1`)).resolves.toMatchObject({ result: [] });
    await expect(ok(`${policies}/${second.id}`)).resolves.toMatchObject({ result: second });

    const updated = (
      await ok(`${policies}/${first.id}`, {
        method: 'PUT',
        json: { name: 'ci only (v2)', decision: 'non_identity', precedence: 5, include: [{ service_token: { token_id: token.id } }] },
      })
    ).result;
    expect(updated).toMatchObject({ name: 'ci only (v2)', precedence: 5, include: [{ service_token: { token_id: token.id } }] });

    const using = await ok(`/client/v4/accounts/${accountId}/access/service_tokens/${token.id}/policies`);
    expect(using.result.map((p: { id: string; app_id: string; app_name: string }) => [p.id, p.app_id, p.app_name]).sort()).toEqual(
      [
        [first.id, app.id, 'policies'],
        [second.id, app.id, 'policies'],
      ].sort(),
    );

    // The token goes; its rules stay (they match nothing) and are still listed for it.
    await ok(`/client/v4/accounts/${accountId}/access/service_tokens/${token.id}`, { method: 'DELETE' });
    const after = await ok(`/client/v4/accounts/${accountId}/access/service_tokens/${token.id}/policies`);
    expect(after.result).toHaveLength(2);
    await expect(ok(`${policies}/${first.id}`)).resolves.toMatchObject({ result: { include: [{ service_token: { token_id: token.id } }] } });

    await expect(ok(`${policies}/${second.id}`, { method: 'DELETE' })).resolves.toMatchObject({ result: { id: second.id } });
    expectError(await sys.api(`${policies}/${second.id}`), 404, /not found/);
    await ok(`${apps}/${app.id}`, { method: 'DELETE' });
    expectError(await sys.api(`${policies}/${first.id}`), 404, /not found/);
  });

  it('revokes existing sessions (result: null) and records every change in the audit log', async () => {
    const app = await newApp('revoke');
    const before = Date.now();
    const res = await ok(`${apps}/${app.id}/revoke_tokens`, { method: 'POST' });
    expect(res.result).toBeNull();
    const got = (await ok(`${apps}/${app.id}`)).result;
    expect(Date.parse(got.sessions_revoked_at)).toBeGreaterThanOrEqual(before - 1000);
    expect(got.aud).toBe(app.aud);
    expectError(await sys.api(`${apps}/${app.id}/revoke_tokens`, { method: 'POST', json: { now: true } }), 400, /now/);

    const audit = await ok(`/client/v4/accounts/${accountId}/audit_logs?resource_id=${app.id}`);
    expect(audit.result.map((e: { action: { type: string } }) => e.action.type)).toEqual(['access_app.sessions_revoked', 'access_app.created']);
  });

  it('works with the official Cloudflare SDK (which pages until an empty page)', async () => {
    const cf = new Cloudflare({ apiToken: sys.adminToken, baseURL: `${sys.apiUrl}/client/v4`, maxRetries: 0 });
    const d = domain('sdk');
    const created = await cf.zeroTrust.access.applications.create({
      account_id: accountId,
      name: 'sdk app',
      domain: d,
      type: 'self_hosted',
      session_duration: '12h',
    });
    expect(created).toMatchObject({ name: 'sdk app', domain: d, session_duration: '12h' });
    const appId = (created as { id: string }).id;
    const listed = [];
    for await (const a of cf.zeroTrust.access.applications.list({ account_id: accountId })) listed.push((a as { id?: string }).id);
    expect(listed).toContain(appId);
    await expect(cf.zeroTrust.access.applications.revokeTokens(appId, { account_id: accountId })).resolves.toBeNull();

    const token = await cf.zeroTrust.access.serviceTokens.create({ account_id: accountId, name: `sdk-${randomUUID()}` });
    const policy = await cf.zeroTrust.access.applications.policies.create(appId, {
      account_id: accountId,
      name: 'sdk policy',
      decision: 'non_identity',
      include: [{ service_token: { token_id: token.id! } }],
    });
    expect(policy).toMatchObject({ name: 'sdk policy', decision: 'non_identity', precedence: 1 });
    const policies = [];
    for await (const p of cf.zeroTrust.access.applications.policies.list(appId, { account_id: accountId })) policies.push(p.id);
    expect(policies).toEqual([policy.id]);
    await cf.zeroTrust.access.applications.delete(appId, { account_id: accountId });
    await expect(cf.zeroTrust.access.applications.get(appId, { account_id: accountId })).rejects.toMatchObject({ status: 404 });
  });

  it('documents every route in the OpenAPI document', async () => {
    const doc = (await (await fetch(`${sys.apiUrl}/client/v4/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    const base = '/client/v4/accounts/{account_id}/access/apps';
    expect(Object.keys(doc.paths[base]!).sort()).toEqual(['get', 'post']);
    expect(Object.keys(doc.paths[`${base}/{app_id}`]!).sort()).toEqual(['delete', 'get', 'put']);
    expect(Object.keys(doc.paths[`${base}/{app_id}/revoke_tokens`]!)).toEqual(['post']);
    expect(Object.keys(doc.paths[`${base}/{app_id}/policies`]!).sort()).toEqual(['get', 'post']);
    expect(Object.keys(doc.paths[`${base}/{app_id}/policies/{policy_id}`]!).sort()).toEqual(['delete', 'get', 'put']);
    expect(Object.keys(doc.paths['/client/v4/accounts/{account_id}/access/service_tokens/{token_id}/policies']!)).toEqual(['get']);
  });
});
