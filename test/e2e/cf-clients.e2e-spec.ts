import http from 'node:http';
import { randomBytes } from 'node:crypto';
import Cloudflare from 'cloudflare';
import { expectEventually, freePort } from '@gatehouse/testing';
import { request } from '../src/raw-http.js';
import { startSystem, type System } from '../src/system.js';

/**
 * What today's Cloudflare clients send (the official SDK, Terraform v5's requests): reusable
 * policies, rotation by PUT and the application fields, through the API and at the gateway.
 * The gateway resyncs rarely here, so every change it shows arrived as an event.
 */
describe('Cloudflare clients: reusable policies, rotation by PUT, application fields', () => {
  let sys: System;
  let gw: string;
  let cf: Cloudflare;
  let accountId: string;
  let upstream: http.Server;
  let upstreamUrl: string;
  const suffix = randomBytes(4).toString('hex');
  const host = (tag: string) => `${tag}-${suffix}.cf.test`;

  const api = (path: string, method = 'GET', json?: unknown) => sys.api(`/client/v4/accounts/${accountId}${path}`, { method, json });
  const ok = async (path: string, method = 'GET', json?: unknown) => {
    const res = await api(path, method, json);
    if (res.status !== 200) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body.result;
  };
  const expect400 = async (path: string, method: string, json: unknown, pattern: RegExp) => {
    const res = await api(path, method, json);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ success: false, result: null });
    expect(res.body.errors.map((e: { message: string }) => e.message).join('\n')).toMatch(pattern);
  };
  const creds = (t: { client_id: string; client_secret: string }) => ({ 'cf-access-client-id': t.client_id, 'cf-access-client-secret': t.client_secret });
  const at = (h: string, headers: Record<string, string> = {}, path = '/') => request(gw, h, headers, path);
  const newToken = (name: string) =>
    cf.zeroTrust.access.serviceTokens.create({ account_id: accountId, name: `${name}-${suffix}` }) as Promise<{
      id: string;
      client_id: string;
      client_secret: string;
    }>;

  beforeAll(async () => {
    upstream = http.createServer((req, res) => res.end(`upstream ${req.url}`));
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    upstreamUrl = `http://127.0.0.1:${(upstream.address() as { port: number }).port}`;
    const port = await freePort();
    gw = `http://127.0.0.1:${port}`;
    sys = await startSystem({
      extra: [
        {
          name: 'auth-service',
          migrate: true,
          env: {
            GATEHOUSE_GATEWAY_PORT: String(port),
            GATEHOUSE_TEAM_URL: gw,
            GATEHOUSE_RATE_LIMIT_BURST: '1000',
            GATEHOUSE_RATE_LIMIT_IP_BURST: '100000',
            GATEHOUSE_RESYNC_INTERVAL_MS: '600000',
          },
        },
      ],
    });
    await expectEventually(async () => expect((await at('x', {}, '/cdn-cgi/access/health')).status).toBe(200), { timeoutMs: 20_000, intervalMs: 100 }).catch(
      (e) => {
        throw new Error(`gateway did not become healthy: ${(e as Error).message}\n${sys.logs()}`);
      },
    );
    accountId = await sys.defaultAccountId();
    cf = new Cloudflare({ apiToken: sys.adminToken, baseURL: `${sys.apiUrl}/client/v4`, maxRetries: 0 });
  });
  afterAll(async () => {
    upstream?.closeAllConnections();
    upstream?.close();
    await sys?.stop();
  });

  it('manages reusable policies with the SDK; a change reaches every linking app at the gateway within 1 s; a linked policy cannot be deleted', async () => {
    const first = await newToken('first');
    const second = await newToken('second');
    const policies = cf.zeroTrust.access.policies;
    const created = await policies.create({
      account_id: accountId,
      name: `shared ${suffix}`,
      decision: 'non_identity',
      include: [{ service_token: { token_id: first.id } }],
      session_duration: '30m',
    });
    expect(created).toMatchObject({
      name: `shared ${suffix}`,
      decision: 'non_identity',
      reusable: true,
      app_count: 0,
      session_duration: '30m',
      include: [{ service_token: { token_id: first.id } }],
      exclude: [],
      require: [],
    });
    expect(created.created_at).toEqual(expect.any(String));
    expect(created.updated_at).toEqual(expect.any(String));
    const policyId = created.id!;

    // Both link forms: { id, precedence } and the plain id.
    const x = await cf.zeroTrust.access.applications.create({
      account_id: accountId,
      name: `X ${suffix}`,
      domain: host('x'),
      type: 'self_hosted',
      policies: [{ id: policyId, precedence: 1 }],
      upstream: upstreamUrl,
    } as never);
    const y = (await ok('/access/apps', 'POST', { name: `Y ${suffix}`, domain: host('y'), upstream: upstreamUrl, policies: [policyId] })) as {
      id: string;
      policies: unknown[];
    };
    expect((x as { policies: unknown[] }).policies).toEqual([
      expect.objectContaining({ id: policyId, precedence: 1, reusable: true, include: [{ service_token: { token_id: first.id } }] }),
    ]);
    expect(y.policies).toEqual([expect.objectContaining({ id: policyId, precedence: 1 })]);
    await expect(policies.get(policyId, { account_id: accountId })).resolves.toMatchObject({ app_count: 2 });
    const listed = [];
    for await (const p of policies.list({ account_id: accountId })) listed.push(p);
    expect(listed.find((p) => p.id === policyId)).toMatchObject({ reusable: true, app_count: 2 });

    for (const h of [host('x'), host('y')]) {
      await expectEventually(async () => expect((await at(h, creds(first))).status).toBe(200), { timeoutMs: 2000 });
      expect((await at(h, creds(second))).status).toBe(403);
    }
    const admitted = await at(host('x'), creds(first));
    // The reusable policy's session duration applies to the JWT it admits.
    const jwt = /CF_Authorization=([^;]+)/.exec(String(admitted.headers['set-cookie']))![1]!;
    const claims = JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString());
    expect(claims.exp - claims.iat).toBe(30 * 60);

    // Move the policy from the first token to the second: both apps follow within 1 s.
    const started = Date.now();
    await policies.update(policyId, {
      account_id: accountId,
      name: `shared ${suffix}`,
      decision: 'non_identity',
      include: [{ service_token: { token_id: second.id } }],
    });
    await expectEventually(
      async () => {
        for (const h of [host('x'), host('y')]) {
          expect((await at(h, creds(second))).status).toBe(200);
          expect((await at(h, creds(first))).status).toBe(403);
        }
      },
      { timeoutMs: 1000, intervalMs: 20 },
    );
    const propagationMs = Date.now() - started;
    expect(propagationMs).toBeLessThan(1000);
    // The JWT the first token got before is refused too (the policy no longer admits it).
    expect((await at(host('x'), { cookie: `CF_Authorization=${jwt}` })).status).toBe(403);

    // The token's policy list (the dashboard's delete confirmation) names the reusable policy and its apps.
    const naming = await ok(`/access/service_tokens/${second.id}/policies`);
    expect(naming).toEqual([expect.objectContaining({ id: policyId, reusable: true, app_id: null, app_count: 2 })]);

    // Deleting it while linked: 400 naming both apps; the gateway keeps applying it.
    const refused = await api(`/access/policies/${policyId}`, 'DELETE');
    expect(refused.status).toBe(400);
    expect(refused.body.errors[0].message).toMatch(new RegExp(`X ${suffix}.*Y ${suffix}`));
    await expect(policies.delete(policyId, { account_id: accountId })).rejects.toMatchObject({ status: 400 });
    expect((await at(host('y'), creds(second))).status).toBe(200);

    // Unlinked, an app admits nobody (never "anything"); then the policy can go.
    await cf.zeroTrust.access.applications.update((x as { id: string }).id, {
      account_id: accountId,
      name: `X ${suffix}`,
      domain: host('x'),
      type: 'self_hosted',
      policies: [],
    } as never);
    await ok(`/access/apps/${y.id}`, 'PUT', { name: `Y ${suffix}`, domain: host('y'), policies: [] });
    await expectEventually(async () => expect((await at(host('x'), creds(second))).status).toBe(403), { timeoutMs: 1000, intervalMs: 20 });
    expect((await at(host('y'), creds(second))).status).toBe(403);
    await expect(policies.delete(policyId, { account_id: accountId })).resolves.toMatchObject({ id: policyId });
    await expect(policies.get(policyId, { account_id: accountId })).rejects.toMatchObject({ status: 404 });
  });

  it('describes the new routes and fields in the OpenAPI document', async () => {
    const doc = (await (await fetch(`${sys.apiUrl}/client/v4/openapi.json`)).json()) as { paths: Record<string, Record<string, any>> };
    const base = '/client/v4/accounts/{account_id}/access';
    expect(Object.keys(doc.paths[`${base}/policies`]!).sort()).toEqual(['get', 'post']);
    expect(Object.keys(doc.paths[`${base}/policies/{policy_id}`]!).sort()).toEqual(['delete', 'get', 'put']);
    const appFields = Object.keys(doc.paths[`${base}/apps`]!.post.requestBody.content['application/json'].schema.properties);
    expect(appFields).toEqual(
      expect.arrayContaining([
        'destinations',
        'http_only_cookie_attribute',
        'same_site_cookie_attribute',
        'path_cookie_attribute',
        'service_auth_401_redirect',
        'tags',
        'app_launcher_visible',
        'policies',
      ]),
    );
    const tokenFields = Object.keys(doc.paths[`${base}/service_tokens/{token_id}`]!.put.requestBody.content['application/json'].schema.properties);
    expect(tokenFields).toContain('client_secret_version');
  });

  it('refuses what Gatehouse cannot honour with a 400 in the envelope', async () => {
    const p = await ok('/access/policies', 'POST', { name: 'p', decision: 'non_identity', include: [{ any_valid_service_token: {} }] });
    await expect400('/access/policies', 'POST', { name: 'p', decision: 'allow', include: [{ any_valid_service_token: {} }] }, /decision:.*non_identity/);
    await expect400('/access/policies', 'POST', { name: 'p', decision: 'non_identity', include: [{ email: { email: 'a@b.c' } }] }, /include\.0/);
    await expect400(
      '/access/policies',
      'POST',
      { name: 'p', decision: 'non_identity', include: [{ any_valid_service_token: {} }], approval_required: true },
      /approval_required/,
    );
    // Linked and app-scoped policies are mutually exclusive, both ways.
    const inline = await ok('/access/apps', 'POST', { name: 'inline', domain: host('inline') });
    await ok(`/access/apps/${inline.id}/policies`, 'POST', { name: 'scoped', decision: 'non_identity', include: [{ any_valid_service_token: {} }] });
    await expect400(`/access/apps/${inline.id}`, 'PUT', { name: 'inline', domain: host('inline'), policies: [p.id] }, /app-scoped/);
    const linked = await ok('/access/apps', 'POST', { name: 'linked', domain: host('linked'), policies: [{ id: p.id, precedence: 1 }] });
    await expect400(
      `/access/apps/${linked.id}/policies`,
      'POST',
      { name: 'scoped', decision: 'non_identity', include: [{ any_valid_service_token: {} }] },
      /reusable/,
    );
    await expect400('/access/apps', 'POST', { name: 'bad', domain: host('bad'), policies: ['00000000-0000-4000-8000-000000000000'] }, /policies\.0\.id/);
    await expect400('/access/apps', 'POST', { name: 'bad', domain: host('bad'), policies: [{ id: p.id, precedence: 1, decision: 'allow' }] }, /policies\.0/);
  });

  it('rotates a token by PUT with a greater client_secret_version (new secret only in that response), at the gateway too', async () => {
    const t = await newToken('put-rotate');
    const app = await ok('/access/apps', 'POST', { name: `R ${suffix}`, domain: host('rotate'), upstream: upstreamUrl });
    await ok(`/access/apps/${app.id}/policies`, 'POST', { name: 'r', decision: 'non_identity', include: [{ service_token: { token_id: t.id } }] });
    await expectEventually(async () => expect((await at(host('rotate'), creds(t))).status).toBe(200), { timeoutMs: 2000 });

    const tokens = cf.zeroTrust.access.serviceTokens;
    const grace = new Date(Date.now() + 3_600_000).toISOString();
    const rotated = (await tokens.update(t.id, {
      account_id: accountId,
      name: `put-rotate-${suffix}`,
      client_secret_version: 2,
      previous_client_secret_expires_at: grace,
    })) as unknown as {
      client_secret: string;
      client_secret_version: number;
      previous_client_secret_expires_at: string;
    };
    expect(rotated).toMatchObject({ client_secret_version: 2, previous_client_secret_expires_at: grace, client_secret: expect.stringMatching(/^gatehouse_/) });
    expect(rotated.client_secret).not.toBe(t.client_secret);
    const fresh = { client_id: t.client_id, client_secret: rotated.client_secret };
    await expectEventually(async () => expect((await at(host('rotate'), creds(fresh))).status).toBe(200), { timeoutMs: 1000, intervalMs: 20 });
    expect((await at(host('rotate'), creds(t))).status).toBe(200); // inside the grace period

    // Equal version: nothing rotates and no secret is returned; GET never returns it.
    const same = await ok(`/access/service_tokens/${t.id}`, 'PUT', { client_secret_version: 2 });
    expect(same).toMatchObject({ client_secret_version: 2 });
    expect(same).not.toHaveProperty('client_secret');
    expect(await ok(`/access/service_tokens/${t.id}`)).not.toHaveProperty('client_secret');
    await expect400(`/access/service_tokens/${t.id}`, 'PUT', { client_secret_version: 1 }, /lower than the current version 2/);

    // No grace given: the old secret stops at once, as with POST …/rotate.
    const again = await ok(`/access/service_tokens/${t.id}`, 'PUT', { client_secret_version: 3 });
    expect(again.client_secret).toMatch(/^gatehouse_/);
    await expectEventually(async () => expect((await at(host('rotate'), creds(fresh))).status).toBe(401), { timeoutMs: 1000, intervalMs: 20 });
    expect((await at(host('rotate'), creds({ client_id: t.client_id, client_secret: again.client_secret }))).status).toBe(200);
  });

  it('accepts the application fields Cloudflare clients send, applies the cookie attributes and the 401, stores the rest', async () => {
    const t = await newToken('fields');
    const uri = `${host('fields')}/api`;
    const created = (await cf.zeroTrust.access.applications.create({
      account_id: accountId,
      name: `F ${suffix}`,
      type: 'self_hosted',
      destinations: [{ type: 'public', uri }],
      http_only_cookie_attribute: false,
      same_site_cookie_attribute: 'strict',
      path_cookie_attribute: true,
      service_auth_401_redirect: true,
      tags: ['engineering', 'ci'],
      app_launcher_visible: false,
      upstream: upstreamUrl,
    } as never)) as Record<string, unknown> & { id: string };
    expect(created).toMatchObject({
      domain: uri,
      destinations: [{ type: 'public', uri }],
      http_only_cookie_attribute: false,
      same_site_cookie_attribute: 'strict',
      path_cookie_attribute: true,
      service_auth_401_redirect: true,
      tags: ['engineering', 'ci'],
      app_launcher_visible: false,
      policies: [],
    });
    await expect(cf.zeroTrust.access.applications.get(created.id, { account_id: accountId })).resolves.toMatchObject({
      tags: ['engineering', 'ci'],
      app_launcher_visible: false,
    });
    await ok(`/access/apps/${created.id}/policies`, 'POST', { name: 'f', decision: 'non_identity', include: [{ service_token: { token_id: t.id } }] });

    const res = await expectEventually(
      async () => {
        const r = await at(host('fields'), creds(t), '/api/x');
        expect(r.status).toBe(200);
        return r;
      },
      { timeoutMs: 2000 },
    );
    const cookie = String(res.headers['set-cookie']);
    expect(cookie).toMatch(/^CF_Authorization=[^;]+; Max-Age=\d+; Path=\/api; SameSite=Strict$/);
    expect(cookie).not.toMatch(/HttpOnly/);

    // service_auth_401_redirect: a valid token no policy admits gets 401 (else 403).
    const stranger = await newToken('stranger');
    expect((await at(host('fields'), creds(stranger), '/api/x')).status).toBe(401);
    await ok(`/access/apps/${created.id}`, 'PUT', {
      name: `F ${suffix}`,
      domain: uri,
      service_auth_401_redirect: false,
      same_site_cookie_attribute: 'none',
      http_only_cookie_attribute: true,
      path_cookie_attribute: false,
    });
    await expectEventually(async () => expect((await at(host('fields'), creds(stranger), '/api/x')).status).toBe(403), { timeoutMs: 1000, intervalMs: 20 });
    // SameSite=None is always Secure (browsers drop it otherwise).
    expect(String((await at(host('fields'), creds(t), '/api/x')).headers['set-cookie'])).toMatch(/; Path=\/; HttpOnly; SameSite=None; Secure$/);

    // What stays a 400: more than one destination, a private one, domain and destination disagreeing, unknown keys.
    await expect400(
      '/access/apps',
      'POST',
      {
        name: 'd',
        destinations: [
          { type: 'public', uri: host('d1') },
          { type: 'public', uri: host('d2') },
        ],
      },
      /destinations:.*one destination/,
    );
    await expect400('/access/apps', 'POST', { name: 'd', destinations: [{ type: 'private', cidr: '10.0.0.0/8' }] }, /destinations\.0/);
    await expect400(
      '/access/apps',
      'POST',
      { name: 'd', domain: host('d3'), destinations: [{ type: 'public', uri: host('d4') }] },
      /destinations\.0\.uri:.*must equal domain/,
    );
    await expect400('/access/apps', 'POST', { name: 'd', domain: host('d5'), same_site_cookie_attribute: 'sometimes' }, /same_site_cookie_attribute/);
    await expect400('/access/apps', 'POST', { name: 'd', domain: host('d6'), skip_interstitial: true }, /skip_interstitial/);
    await expect400('/access/apps', 'POST', { name: 'd' }, /^domain:/m);
  });
});
