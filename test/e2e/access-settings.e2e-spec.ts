import http from 'node:http';
import { randomBytes } from 'node:crypto';
import Cloudflare from 'cloudflare';
import pg from 'pg';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { expectEventually, freePort } from '@gatehouse/testing';
import { request, type Reply } from '../src/raw-http.js';
import { startSystem, type System } from '../src/system.js';

/**
 * Access organization (strict mode at the gateway, inactivity settings), signing keys (rotate now)
 * and the access request log, end to end with the official Cloudflare SDK (raw HTTP for PATCH and
 * for bad input): token service, API and gateway as processes.
 */
describe('access organization, signing keys and access request logs (Cloudflare SDK)', () => {
  let sys: System;
  let cf: Cloudflare;
  let gw: string;
  let accountId: string;
  let upstream: http.Server;
  const suffix = randomBytes(4).toString('hex');
  const host = `strict-${suffix}.gateway.test`;
  let app: any;
  let admitted: any;
  let outsider: any;

  const api = (path: string, method = 'GET', json?: unknown) => sys.api(`/client/v4/accounts/${accountId}${path}`, { method, json });
  const ok = async (path: string, method = 'GET', json?: unknown) => {
    const res = await api(path, method, json);
    if (res.status !== 200) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body.result;
  };
  const creds = (t: { client_id: string; client_secret: string }) => ({ 'cf-access-client-id': t.client_id, 'cf-access-client-secret': t.client_secret });
  const jwtFor = async (t: any) =>
    String((await request(gw, 'x', { ...creds(t), 'x-original-url': `http://${host}/` }, '/cdn-cgi/access/authorize')).headers['cf-access-jwt-assertion']);

  beforeAll(async () => {
    upstream = http.createServer((_req, res) => res.end('upstream'));
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const port = await freePort();
    gw = `http://127.0.0.1:${port}`;
    sys = await startSystem({
      // The token service's inactivity cleanup runs every half second here.
      env: { GATEHOUSE_INACTIVITY_SWEEP_INTERVAL_MS: '500' },
      extra: [
        {
          name: 'auth-service',
          migrate: true,
          // Keys: published 5 s before they sign; every gateway reloads them every 1.25 s.
          env: { GATEHOUSE_GATEWAY_PORT: String(port), GATEHOUSE_TEAM_URL: gw, GATEHOUSE_RESYNC_INTERVAL_MS: '2000', GATEHOUSE_KEY_ROTATION_INTERVAL: '20s' },
        },
      ],
    });
    await expectEventually(async () => expect(JSON.parse((await request(gw, 'x', {}, '/cdn-cgi/access/health')).body)).toMatchObject({ status: 'ok' }), {
      timeoutMs: 20_000,
      intervalMs: 100,
    });
    cf = new Cloudflare({ apiToken: sys.adminToken, baseURL: `${sys.apiUrl}/client/v4`, maxRetries: 0 });
    accountId = await sys.defaultAccountId();
    app = await ok('/access/apps', 'POST', {
      name: `strict ${suffix}`,
      domain: host,
      upstream: `http://127.0.0.1:${(upstream.address() as { port: number }).port}`,
    });
    admitted = await ok('/access/service_tokens', 'POST', { name: `admitted ${suffix}` });
    outsider = await ok('/access/service_tokens', 'POST', { name: `outsider ${suffix}` });
    await ok(`/access/apps/${app.id}/policies`, 'POST', {
      name: 'one token',
      decision: 'non_identity',
      include: [{ service_token: { token_id: admitted.id } }],
    });
    await expectEventually(async () => expect((await request(gw, host, creds(admitted))).status).toBe(200), { timeoutMs: 5000 });
  });
  afterAll(async () => {
    upstream?.closeAllConnections();
    upstream?.close();
    await sys?.stop();
  });

  it('reads and writes the organization with the SDK (list, update, create) and PATCH; bad values are a 400 in the envelope', async () => {
    const initial = await cf.zeroTrust.organizations.list({ account_id: accountId });
    expect(initial).toMatchObject({
      strict_service_token_auth: false,
      session_duration: '24h',
      service_token_inactivity: { enabled: false, inactivity_threshold_days: 90, action: 'disable' },
    });
    const created = await cf.zeroTrust.organizations.create({ account_id: accountId, name: 'Widget Corps', auth_domain: `team-${suffix}.example.com` });
    expect(created).toMatchObject({ name: 'Widget Corps', auth_domain: `team-${suffix}.example.com` });
    const updated = await cf.zeroTrust.organizations.update({
      account_id: accountId,
      service_token_inactivity: { enabled: true, inactivity_threshold_days: 120, action: 'delete' },
    });
    expect(updated).toMatchObject({
      name: 'Widget Corps',
      strict_service_token_auth: false,
      service_token_inactivity: { enabled: true, inactivity_threshold_days: 120, action: 'delete' },
    });
    const patched = await ok('/access/organizations', 'PATCH', { service_token_inactivity: { enabled: false } });
    expect(patched.service_token_inactivity).toEqual({ enabled: false, inactivity_threshold_days: 120, action: 'delete' });

    for (const bad of [
      { service_token_inactivity: { enabled: true, inactivity_threshold_days: 10, action: 'disable' } },
      { service_token_inactivity: { enabled: true, inactivity_threshold_days: 400, action: 'disable' } },
      { service_token_inactivity: { enabled: true, inactivity_threshold_days: 60, action: 'archive' } },
      { service_token_inactivity: { enabled: true } }, // PUT: the object is complete
      { strict_service_token_auth: 'yes' },
      { allow_everything: true },
    ]) {
      const res = await api('/access/organizations', 'PUT', bad);
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ success: false, errors: expect.arrayContaining([expect.objectContaining({ code: 10001 })]) });
    }
    await expect(
      cf.zeroTrust.organizations.update({
        account_id: accountId,
        service_token_inactivity: { enabled: true, inactivity_threshold_days: 29, action: 'disable' },
      }),
    ).rejects.toMatchObject({ status: 400 });
  });

  it('strict_service_token_auth at the gateway: no cookie, mixed or repeated credentials refused, 401 vs 403', async () => {
    const before = await request(gw, host, creds(admitted));
    expect(String(before.headers['set-cookie'])).toContain('CF_Authorization=');
    const jwt = await jwtFor(admitted);
    // Not strict yet: a service token with a JWT is decided by the service token.
    await expect(request(gw, host, { ...creds(admitted), 'cf-access-token': jwt })).resolves.toMatchObject({ status: 200 });

    await expect(cf.zeroTrust.organizations.update({ account_id: accountId, strict_service_token_auth: true })).resolves.toMatchObject({
      strict_service_token_auth: true,
    });
    await expectEventually(async () => expect((await request(gw, host, creds(admitted))).headers['set-cookie']).toBeUndefined(), { timeoutMs: 2000 });
    const res = await request(gw, host, creds(admitted));
    expect(res.status).toBe(200);
    const mixed = await request(gw, host, { ...creds(admitted), 'cf-access-token': jwt });
    expect(mixed.status).toBe(401);
    expect(JSON.parse(mixed.body).reason).toBe('service_token_with_jwt');
    await expect(request(gw, host, { ...creds(admitted), cookie: `CF_Authorization=${jwt}` })).resolves.toMatchObject({ status: 401 });
    const twice = await request(gw, host, {
      'cf-access-client-id': [admitted.client_id, admitted.client_id],
      'cf-access-client-secret': admitted.client_secret,
    });
    expect(twice.status).toBe(401);
    expect(JSON.parse(twice.body).reason).toBe('duplicate_credential_header');
    await expect(request(gw, host, { 'cf-access-token': jwt })).resolves.toMatchObject({ status: 200 });
    await expect(request(gw, host, { ...creds(admitted), 'cf-access-client-secret': 'wrong' })).resolves.toMatchObject({ status: 401 });
    await expect(request(gw, host, creds(outsider))).resolves.toMatchObject({ status: 403 });

    await ok('/access/organizations', 'PATCH', { strict_service_token_auth: false });
    await expectEventually(async () => expect(String((await request(gw, host, creds(admitted))).headers['set-cookie'])).toContain('CF_Authorization='), {
      timeoutMs: 2000,
    });
  });

  it('rotates the signing key with the SDK: both keys in the certs at once, new JWTs carry the new kid once it is active', async () => {
    const before = await cf.zeroTrust.access.keys.get({ account_id: accountId });
    expect(before).toMatchObject({
      key_rotation_interval_days: expect.any(Number),
      days_until_next_rotation: expect.any(Number),
      last_key_rotation_at: expect.any(String),
    });
    const oldKid = decodeProtectedHeader(await jwtFor(admitted)).kid;

    const rotated = (await cf.zeroTrust.access.keys.rotate({ account_id: accountId })) as any;
    const newKid: string = rotated.keys[0].kid;
    expect(newKid).not.toBe(oldKid);
    expect(rotated.keys[0].state).toBe('pending');
    expect(Date.parse(rotated.last_key_rotation_at)).toBeGreaterThan(Date.parse(before.last_key_rotation_at!));
    const certs = JSON.parse((await request(gw, 'x', {}, '/cdn-cgi/access/certs')).body) as { keys: Array<{ kid: string }> };
    expect(certs.keys.map((k) => k.kid)).toEqual(expect.arrayContaining([oldKid, newKid]));
    expect(Date.parse(rotated.keys[0].activates_at) - Date.parse(rotated.last_key_rotation_at)).toBeGreaterThanOrEqual(
      rotated.activation_delay_seconds * 1000 - 1000,
    );

    let jwt = '';
    await expectEventually(
      async () => {
        // A fresh token each time: a new JWT is signed (issued JWTs are reused while fresh).
        const t = await ok('/access/service_tokens', 'POST', { name: `kid probe ${randomBytes(3).toString('hex')}` });
        await ok(`/access/apps/${app.id}/policies`, 'POST', {
          name: `probe ${t.id}`,
          decision: 'non_identity',
          include: [{ service_token: { token_id: t.id } }],
        });
        await expectEventually(async () => expect((await request(gw, host, creds(t))).status).toBe(200), { timeoutMs: 3000 });
        jwt = await jwtFor(t);
        expect(decodeProtectedHeader(jwt).kid).toBe(newKid);
      },
      { timeoutMs: 15_000, intervalMs: 500 },
    );
    const jwks = createRemoteJWKSet(new URL(`${gw}/cdn-cgi/access/certs`));
    await expect(jwtVerify(jwt, jwks, { algorithms: ['RS256'], issuer: gw, audience: app.aud })).resolves.toMatchObject({ protectedHeader: { kid: newKid } });
    // The old key stays published for the overlap.
    const after = JSON.parse((await request(gw, 'x', {}, '/cdn-cgi/access/certs')).body) as { keys: Array<{ kid: string }> };
    expect(after.keys.map((k) => k.kid)).toEqual(expect.arrayContaining([oldKid, newKid]));

    const interval = await cf.zeroTrust.access.keys.update({ account_id: accountId, key_rotation_interval_days: 30 });
    expect(interval).toMatchObject({ key_rotation_interval_days: 30, days_until_next_rotation: 30 });
    await expect(cf.zeroTrust.access.keys.update({ account_id: accountId, key_rotation_interval_days: 7 })).rejects.toMatchObject({ status: 400 });
    await expect(api('/access/keys/rotate', 'POST', { now: true })).resolves.toMatchObject({ status: 400 });
  });

  it('lists the gateway decisions as Cloudflare access requests, naming the service token; bad parameters are a 400', async () => {
    const since = new Date(Date.now() - 60_000).toISOString();
    await request(gw, host, creds(admitted));
    await request(gw, host, creds(outsider));
    // The decision id a refused client is answered with finds its record (a token no request
    // used before: identical decisions in one second share the first one's record and id).
    const stranger = await ok('/access/service_tokens', 'POST', { name: `stranger ${suffix}` });
    let refused!: Reply;
    await expectEventually(async () => expect((refused = await request(gw, host, creds(stranger))).status).toBe(403), { timeoutMs: 5000 });
    const ray = refused.headers['cf-ray'] as string;
    expect(ray).toMatch(/^[0-9a-f]{16}$/);
    let records: any[] = [];
    await expectEventually(
      async () => {
        records = (await cf.zeroTrust.access.logs.accessRequests.list({ account_id: accountId, since, limit: 1000, direction: 'desc' })) as any[];
        expect(records.some((r) => r.service_token_id === outsider.id && r.allowed === false)).toBe(true);
        expect(records.some((r) => r.service_token_id === stranger.id)).toBe(true);
      },
      { timeoutMs: 10_000, intervalMs: 250 },
    );
    const allowed = records.find((r) => r.service_token_id === admitted.id && r.allowed)!;
    expect(allowed).toMatchObject({
      action: 'login',
      allowed: true,
      app_domain: host,
      app_uid: app.id,
      connection: 'service_token',
      ip_address: '127.0.0.1',
      service_token_name: admitted.name,
      service_token_client_id: admitted.client_id,
    });
    expect(allowed.ray_id).toMatch(/^[0-9a-f]{16}$/);
    expect(records.find((r) => r.service_token_id === stranger.id)).toMatchObject({ ray_id: ray, allowed: false });
    const byRay = await api(`/access/logs/access_requests?ray_id=${ray}&since=${encodeURIComponent(since)}`);
    expect(byRay.status).toBe(200);
    expect(byRay.body.result).toEqual([expect.objectContaining({ ray_id: ray, service_token_id: stranger.id, allowed: false })]);
    expect(Date.parse(allowed.created_at)).toBeGreaterThanOrEqual(Date.parse(since));
    const times = records.map((r) => Date.parse(r.created_at));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
    const asc = await api(`/access/logs/access_requests?direction=asc&per_page=2&page=1&since=${encodeURIComponent(since)}`);
    expect(asc.status).toBe(200);
    expect(asc.body.result).toHaveLength(2);
    expect(asc.body.result_info).toMatchObject({ page: 1, per_page: 2, count: 2 });
    expect(Date.parse(asc.body.result[0].created_at)).toBeLessThanOrEqual(Date.parse(asc.body.result[1].created_at));

    for (const bad of [
      'direction=sideways',
      'since=yesterday',
      'per_page=0',
      'limit=-1',
      'page=abc',
      'email=a@b.c',
      'ray_id=not-a-ray',
      `since=${encodeURIComponent(new Date().toISOString())}&until=${encodeURIComponent(since)}`,
    ]) {
      const res = await api(`/access/logs/access_requests?${bad}`);
      expect({ bad, status: res.status, success: res.body.success }).toEqual({ bad, status: 400, success: false });
    }
  });

  it('the inactivity cleanup disables a token unused for the threshold; the gateway refuses it; a token a policy names is exempt', async () => {
    const anyHost = `any-${suffix}.gateway.test`;
    const anyApp = await ok('/access/apps', 'POST', { name: `any ${suffix}`, domain: anyHost, upstream: app.upstream });
    await ok(`/access/apps/${anyApp.id}/policies`, 'POST', { name: 'any token', decision: 'non_identity', include: [{ any_valid_service_token: {} }] });
    const stale = await ok('/access/service_tokens', 'POST', { name: `stale ${suffix}` });
    await expectEventually(async () => expect((await request(gw, anyHost, creds(stale))).status).toBe(200), { timeoutMs: 5000 });
    await cf.zeroTrust.organizations.update({
      account_id: accountId,
      service_token_inactivity: { enabled: true, inactivity_threshold_days: 30, action: 'disable' },
    });
    // 40 days without use: rewind both tokens' times in the token service's own database, again
    // on each try (a sighting or access-log entry from the requests above may still land).
    const db = new pg.Client({ connectionString: sys.tokenDb.url });
    await db.connect();
    try {
      await expectEventually(
        async () => {
          const old = new Date(Date.now() - 40 * 86_400_000);
          await db.query('UPDATE service_tokens SET created_at = $2, last_seen_at = $2 WHERE id = ANY($1::uuid[])', [[stale.id, admitted.id], old]);
          await db.query(`DELETE FROM audit_events WHERE action = 'access.allowed' AND metadata->>'tokenId' = ANY($1)`, [[stale.id, admitted.id]]);
          expect((await cf.zeroTrust.access.serviceTokens.get(stale.id, { account_id: accountId })) as any).toMatchObject({ enabled: false });
        },
        { timeoutMs: 10_000, intervalMs: 700 },
      );
    } finally {
      await db.end();
    }
    await expectEventually(async () => expect((await request(gw, anyHost, creds(stale))).status).toBe(401), { timeoutMs: 2000 });
    // Named by a policy rule: exempt, still admitted.
    await expect(cf.zeroTrust.access.serviceTokens.get(admitted.id, { account_id: accountId })).resolves.toMatchObject({ enabled: true });
    await expect(request(gw, host, creds(admitted))).resolves.toMatchObject({ status: 200 });
    const audit = await api(`/audit_logs?resource_id=${stale.id}&action.type=service_token.updated`);
    expect(audit.body.result[0]).toMatchObject({ actor: { type: 'system', id: 'service_token_inactivity' } });
    await ok('/access/organizations', 'PATCH', { service_token_inactivity: { enabled: false } });
  });

  it('documents every new route in the OpenAPI document', async () => {
    const doc = (await (await fetch(`${sys.apiUrl}/client/v4/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    const base = '/client/v4/accounts/{account_id}/access';
    expect(Object.keys(doc.paths[`${base}/organizations`] ?? {}).sort()).toEqual(['get', 'patch', 'post', 'put']);
    expect(Object.keys(doc.paths[`${base}/keys`] ?? {}).sort()).toEqual(['get', 'put']);
    expect(Object.keys(doc.paths[`${base}/keys/rotate`] ?? {})).toEqual(['post']);
    expect(Object.keys(doc.paths[`${base}/logs/access_requests`] ?? {})).toEqual(['get']);
  });
});
