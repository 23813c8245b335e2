import http from 'node:http';
import { X509Certificate, randomBytes } from 'node:crypto';
import { accessMiddleware, type AccessIdentity } from '@gatehouse/access-verify';
import { expectEventually, freePort, wrongSecret } from '@gatehouse/testing';
import { SignJWT, base64url } from 'jose';
import { request, type Reply } from '../src/raw-http.js';
import { startSystem, type System } from '../src/system.js';

/** The gateway end to end: token service + admin API + auth-service as processes, a real upstream. */
describe('gateway: service-token exchange, JWTs, propagation', () => {
  let sys: System;
  let gw: string;
  let accountId: string;
  let upstream: http.Server;
  const suffix = randomBytes(4).toString('hex');
  const hostA = `a-${suffix}.gateway.test`;
  const hostB = `b-${suffix}.gateway.test`;
  const hostSingle = `single-${suffix}.gateway.test`;
  const received: http.IncomingHttpHeaders[] = [];
  let verifyA: ReturnType<typeof accessMiddleware> | null = null;
  let appA: any;
  let appB: any;

  const api = (path: string, method = 'GET', json?: unknown) => sys.api(`/client/v4/accounts/${accountId}${path}`, { method, json });
  const ok = async (path: string, method = 'GET', json?: unknown) => {
    const res = await api(path, method, json);
    if (res.status !== 200) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body.result;
  };
  const token = (name: string, extra: Record<string, unknown> = {}) => ok('/access/service_tokens', 'POST', { name: `${name}-${suffix}`, ...extra });
  const creds = (t: { client_id: string; client_secret: string }) => ({ 'cf-access-client-id': t.client_id, 'cf-access-client-secret': t.client_secret });
  const cookieJwt = (r: Reply) => /CF_Authorization=([^;]+)/.exec(String(r.headers['set-cookie']))?.[1] ?? '';
  const at = (host: string, headers: Record<string, string> = {}, path = '/') => request(gw, host, headers, path);

  beforeAll(async () => {
    upstream = http.createServer((req, res) => {
      received.push(req.headers);
      if (verifyA && req.headers.host === hostA && req.url?.startsWith('/verified')) {
        const r = req as http.IncomingMessage & { accessIdentity?: AccessIdentity };
        return verifyA(r, res, () => res.end(`verified ${r.accessIdentity!.commonName}`));
      }
      res.end(`upstream ${req.url}`);
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const upstreamUrl = `http://127.0.0.1:${(upstream.address() as { port: number }).port}`;
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
            GATEHOUSE_RESYNC_INTERVAL_MS: '2000',
          },
        },
      ],
    });
    await expectEventually(async () => expect((await at('x', {}, '/cdn-cgi/access/health')).json()).toMatchObject({ status: 'ok' }), {
      timeoutMs: 20_000,
      intervalMs: 100,
    }).catch((e) => {
      throw new Error(`gateway did not become healthy: ${(e as Error).message}\n${sys.logs()}`);
    });
    accountId = await sys.defaultAccountId();
    appA = await ok('/access/apps', 'POST', { name: `A ${suffix}`, domain: hostA, upstream: upstreamUrl });
    appB = await ok('/access/apps', 'POST', { name: `B ${suffix}`, domain: hostB, upstream: upstreamUrl, session_duration: '3s' });
    await ok('/access/apps', 'POST', { name: `S ${suffix}`, domain: hostSingle, upstream: upstreamUrl, read_service_tokens_from_header: 'Authorization' });
    verifyA = accessMiddleware({ teamUrl: gw, audience: appA.aud });
  });
  afterAll(async () => {
    upstream?.closeAllConnections();
    upstream?.close();
    await sys?.stop();
  });

  async function admitted(name: string, apps: any[] = [appA]) {
    const t = await token(name);
    for (const app of apps)
      await ok(`/access/apps/${app.id}/policies`, 'POST', {
        name: `${name} on ${app.name}`,
        decision: 'non_identity',
        include: [{ service_token: { token_id: t.id } }],
      });
    await expectEventually(async () => expect((await at(apps[0].domain, creds(t))).status).toBe(200), { timeoutMs: 2000 });
    return t;
  }

  it('exchanges a service token: proxies with the JWT asserted (verified upstream by access-verify), secret stripped, cookie set', async () => {
    const t = await admitted('exchange');
    const res = await at(hostA, creds(t), '/verified/path?q=1');
    expect(res.status).toBe(200);
    expect(res.body).toBe(`verified ${t.client_id}`);
    const fwd = received.at(-1)!;
    expect(fwd['cf-access-client-secret']).toBeUndefined();
    expect(fwd['cf-access-jwt-assertion']).toBe(cookieJwt(res));
    expect(String(res.headers['set-cookie'])).toMatch(/^CF_Authorization=[^;]+; Max-Age=\d+; Path=\/; HttpOnly; SameSite=Lax/);
    const [header, payload] = cookieJwt(res)
      .split('.')
      .slice(0, 2)
      .map((p) => JSON.parse(Buffer.from(p, 'base64url').toString()));
    expect(header).toMatchObject({ alg: 'RS256', kid: expect.any(String) });
    expect(payload).toMatchObject({ type: 'app', aud: [appA.aud], iss: gw, common_name: t.client_id, sub: '' });
    expect(payload.exp - payload.iat).toBe(24 * 3600);
    // The JWT alone works, as cookie or header, and get-identity names the token.
    expect((await at(hostA, { cookie: `CF_Authorization=${cookieJwt(res)}` })).status).toBe(200);
    expect((await at(hostA, { 'cf-access-token': cookieJwt(res) }, '/verified')).body).toBe(`verified ${t.client_id}`);
    const me = await at(hostA, { cookie: `CF_Authorization=${cookieJwt(res)}` }, '/cdn-cgi/access/get-identity');
    expect(me.json()).toMatchObject({ token_id: t.id, client_id: t.client_id, name: t.name, app: { id: appA.id, aud: appA.aud } });
    // The upstream refuses what the gateway did not sign.
    expect((await at(hostA, {}, '/verified')).status).toBe(401);
  });

  it('publishes its keys at /cdn-cgi/access/certs', async () => {
    const certs = (await at(hostA, {}, '/cdn-cgi/access/certs')).json();
    expect(certs.keys[0]).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig', kid: expect.any(String), n: expect.any(String), e: 'AQAB' });
    expect(certs.public_cert.cert).toMatch(/^-----BEGIN CERTIFICATE-----/);
    expect(certs.public_certs.length).toBeGreaterThanOrEqual(1);
  });

  it('reads both credentials from one header when the app says so', async () => {
    const t = await token('single');
    const single = (await ok('/access/apps')).find((a: any) => a.domain === hostSingle);
    await ok(`/access/apps/${single.id}/policies`, 'POST', { name: 'single', decision: 'non_identity', include: [{ any_valid_service_token: {} }] });
    const authorization = JSON.stringify({ 'cf-access-client-id': t.client_id, 'cf-access-client-secret': t.client_secret });
    await expectEventually(async () => expect((await at(hostSingle, { authorization })).status).toBe(200), { timeoutMs: 2000 });
    expect(received.at(-1)!.authorization).toBeUndefined();
    expect((await at(hostSingle, { authorization: 'Bearer nope' })).status).toBe(401);
  });

  it('refuses every attack in the list with 401/403/404 and never a 500, without telling whether a client id exists', async () => {
    const t = await admitted('victim', [appA]);
    const other = await token('other');
    const jwtA = cookieJwt(await at(hostA, creds(t)));
    const [h, p, s] = jwtA.split('.');
    const payload = JSON.parse(Buffer.from(p!, 'base64url').toString());
    const certs = (await at(hostA, {}, '/cdn-cgi/access/certs')).json();
    // The classic confusion attack: HMAC keyed with the published public key.
    const publicPem = new X509Certificate(certs.public_cert.cert).publicKey.export({ type: 'spki', format: 'pem' }) as string;
    const kid = JSON.parse(Buffer.from(h!, 'base64url').toString()).kid;
    const hs256 = await new SignJWT(payload).setProtectedHeader({ alg: 'HS256', kid }).sign(new TextEncoder().encode(publicPem));
    const unknownKid = `${base64url.encode(JSON.stringify({ alg: 'RS256', kid: 'not-a-key' }))}.${p}.${s}`;
    const cases: Array<[string, Record<string, string>, string?]> = [
      ['wrong secret', { 'cf-access-client-id': t.client_id, 'cf-access-client-secret': wrongSecret(other.client_secret) }],
      ["another token's secret", { 'cf-access-client-id': t.client_id, 'cf-access-client-secret': other.client_secret }],
      ['client id only', { 'cf-access-client-id': t.client_id }],
      ['secret only', { 'cf-access-client-secret': t.client_secret }],
      ['empty values', { 'cf-access-client-id': '', 'cf-access-client-secret': '' }],
      ['huge secret', { 'cf-access-client-id': t.client_id, 'cf-access-client-secret': 'x'.repeat(16_000) }],
      ['non-ASCII secret', { 'cf-access-client-id': t.client_id, 'cf-access-client-secret': 'gatehouse_ünïcödé' }],
      ['non-ASCII id', { 'cf-access-client-id': 'ïd', 'cf-access-client-secret': t.client_secret }],
      ['alg none', { 'cf-access-token': `${base64url.encode(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${p}.` }],
      ['HS256 signed with the public key', { 'cf-access-token': hs256 }],
      ['unknown kid', { 'cf-access-token': unknownKid }],
      ['tampered payload', { 'cf-access-token': `${h}.${base64url.encode(JSON.stringify({ ...payload, common_name: other.client_id }))}.${s}` }],
      ['JWT for app A at app B', { 'cf-access-token': jwtA }, hostB],
      ['garbage JWT', { cookie: 'CF_Authorization=not.a.jwt' }],
      ['huge cookie', { cookie: `CF_Authorization=${'a'.repeat(30_000)}` }],
    ];
    for (const [what, headers, host] of cases) {
      const res = await at(host ?? hostA, headers);
      expect([what, res.status]).toEqual([what, 401]);
      expect([what, res.json().error]).toEqual([what, 'unauthorized']);
    }
    // An unknown id and a wrong secret look the same.
    const unknown = await at(hostA, { 'cf-access-client-id': `${'0'.repeat(32)}.access`, 'cf-access-client-secret': t.client_secret });
    const wrong = await at(hostA, { 'cf-access-client-id': t.client_id, 'cf-access-client-secret': other.client_secret });
    expect([unknown.status, unknown.body]).toEqual([wrong.status, wrong.body]);
    // A valid token that no policy of B admits: 403. Unknown host: 404.
    expect((await at(hostB, creds(t))).status).toBe(403);
    expect((await at(hostB, creds(t))).json()).toEqual({ error: 'forbidden', reason: 'forbidden' });
    expect((await at(`nope-${suffix}.gateway.test`, creds(t))).status).toBe(404);
  });

  it('refuses an expired token and an expired JWT', async () => {
    const t = await token('short', { duration: '2s' });
    await ok(`/access/apps/${appB.id}/policies`, 'POST', { name: 'short', decision: 'non_identity', include: [{ any_valid_service_token: {} }] });
    await expectEventually(async () => expect((await at(hostB, creds(t))).status).toBe(200), { timeoutMs: 2000 });
    await expectEventually(async () => expect((await at(hostB, creds(t))).status).toBe(401), { timeoutMs: 4000, intervalMs: 200 });
    // B's sessions last 3 s: a JWT from a long-lived token expires on its own.
    const long = await token('long-b');
    const jwt = cookieJwt(
      await expectEventually(
        async () => {
          const r = await at(hostB, creds(long));
          expect(r.status).toBe(200);
          return r;
        },
        { timeoutMs: 2000 },
      ),
    );
    expect((await at(hostB, { 'cf-access-token': jwt })).status).toBe(200);
    await expectEventually(async () => expect((await at(hostB, { 'cf-access-token': jwt })).json()).toEqual({ error: 'unauthorized', reason: 'invalid_jwt' }), {
      timeoutMs: 5000,
      intervalMs: 200,
    });
  });

  it('applies disable, delete, rotation, policy change and revoke_tokens within 1 second', async () => {
    const within1s = (host: string, headers: Record<string, string>, status: number) =>
      expectEventually(async () => expect((await at(host, headers)).status).toBe(status), { timeoutMs: 1000, intervalMs: 20 });

    // Disable, then enable again.
    const d = await admitted('disable');
    const dJwt = cookieJwt(await at(hostA, creds(d)));
    await ok(`/access/service_tokens/${d.id}`, 'PUT', { enabled: false });
    await within1s(hostA, creds(d), 401);
    expect((await at(hostA, { 'cf-access-token': dJwt })).status).toBe(401);
    await ok(`/access/service_tokens/${d.id}`, 'PUT', { enabled: true });
    await within1s(hostA, creds(d), 200);

    // Delete: secret and JWT both dead.
    const del = await admitted('delete');
    const delJwt = cookieJwt(await at(hostA, creds(del)));
    await ok(`/access/service_tokens/${del.id}`, 'DELETE');
    await within1s(hostA, creds(del), 401);
    expect((await at(hostA, { 'cf-access-token': delJwt })).status).toBe(401);

    // Rotation without grace: the old secret dies at once; the new one works.
    const r = await admitted('rotate');
    const rotated = await ok(`/access/service_tokens/${r.id}/rotate`, 'POST');
    await within1s(hostA, creds(r), 401);
    await within1s(hostA, creds({ client_id: r.client_id, client_secret: rotated.client_secret }), 200);

    // Rotation with a grace period: both work; ending the grace kills the previous secret and its JWTs.
    const g = await admitted('grace');
    const gJwt = cookieJwt(await at(hostA, creds(g)));
    const until = new Date(Date.now() + 3_600_000).toISOString();
    const g2 = await ok(`/access/service_tokens/${g.id}/rotate`, 'POST', { previous_client_secret_expires_at: until });
    await within1s(hostA, creds({ client_id: g.client_id, client_secret: g2.client_secret }), 200);
    expect((await at(hostA, creds(g))).status).toBe(200);
    expect((await at(hostA, { 'cf-access-token': gJwt })).status).toBe(200);
    await ok(`/access/service_tokens/${g.id}`, 'PUT', { previous_client_secret_expires_at: null });
    await within1s(hostA, creds(g), 401);
    expect((await at(hostA, { 'cf-access-token': gJwt })).status).toBe(401);

    // Policy change: the token's policy stops naming it -> 403, for its JWT too.
    const pTok = await token('policy');
    const policy = await ok(`/access/apps/${appA.id}/policies`, 'POST', {
      name: 'policy-change',
      decision: 'non_identity',
      include: [{ service_token: { token_id: pTok.id } }],
    });
    await expectEventually(async () => expect((await at(hostA, creds(pTok))).status).toBe(200), { timeoutMs: 1000 });
    const pJwt = cookieJwt(await at(hostA, creds(pTok)));
    await ok(`/access/apps/${appA.id}/policies/${policy.id}`, 'PUT', {
      name: 'policy-change',
      decision: 'non_identity',
      include: [{ service_token: { token_id: d.id } }],
    });
    await within1s(hostA, creds(pTok), 403);
    expect((await at(hostA, { 'cf-access-token': pJwt })).status).toBe(403);

    // Revoke existing sessions: earlier JWTs die, a new exchange gives a working one.
    const v = await admitted('revoke');
    const vJwt = cookieJwt(await at(hostA, creds(v)));
    await ok(`/access/apps/${appA.id}/revoke_tokens`, 'POST');
    await within1s(hostA, { 'cf-access-token': vJwt }, 401);
    const fresh = cookieJwt(await at(hostA, creds(v)));
    expect(fresh).not.toBe(vJwt);
    expect((await at(hostA, { 'cf-access-token': fresh })).status).toBe(200);
  });

  it('records decisions in the audit log (token name, app, reason; never the secret) and updates last_seen_at', async () => {
    const t = await admitted('audited');
    await at(hostA, { 'cf-access-client-id': t.client_id, 'cf-access-client-secret': wrongSecret(t.client_secret) });
    const events = await expectEventually(
      async () => {
        const res = await api(`/audit_logs?token_id=${t.id}&per_page=100`);
        expect(res.status).toBe(200);
        const actions = res.body.result.map((e: any) => e.action.type);
        expect(actions).toEqual(expect.arrayContaining(['access.allowed', 'access.denied']));
        return res.body.result;
      },
      { timeoutMs: 5000, intervalMs: 200 },
    );
    const allowed = events.find((e: any) => e.action.type === 'access.allowed');
    expect(allowed.resource).toMatchObject({ id: appA.id, name: appA.name });
    expect(JSON.stringify(events)).not.toContain(t.client_secret);
    expect(JSON.stringify(events)).not.toMatch(/eyJ[\w-]+\.eyJ/);
    await expectEventually(async () => expect((await ok(`/access/service_tokens/${t.id}`)).last_seen_at).not.toBeNull(), { timeoutMs: 5000, intervalMs: 200 });
  });
});
