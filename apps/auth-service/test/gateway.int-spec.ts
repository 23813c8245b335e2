import { X509Certificate } from 'node:crypto';
import http from 'node:http';
import net, { type Socket } from 'node:net';
import type { NatsConnection } from '@nats-io/transport-node';
import { generateClientSecret, hashClientSecret, type Application, type Policy, type VerifierToken } from '@gatehouse/contracts';
import { expectEventually, type TestNats } from '@gatehouse/testing';
import { startGateway, type RunningGateway } from '../src/bootstrap.js';
import { UpstreamPool } from '../src/gateway/proxy.js';
import { appOf, policyOf, tokenOf } from '../src/replica/replica.fixture.js';
import { HASH_KEY, httpGet, silentLog as silent, startGatewayHarness, type GatewayHarness } from './gateway-harness.js';

describe('auth-service gateway (real PostgreSQL, nats-server, upstream)', () => {
  let h: GatewayHarness;
  let nats: TestNats;
  let nc: NatsConnection;
  let gw: RunningGateway;
  let upstream: http.Server;
  let upstreamUrl: string;
  const seenByUpstream: http.IncomingHttpHeaders[] = [];
  const published: Array<{ subject: string; data: any }> = [];
  const secret = generateClientSecret();
  const token: VerifierToken = tokenOf({ secretHash: hashClientSecret(HASH_KEY, secret), name: 'int-token' });
  let app: Application;
  let policy: Policy;
  let state: { revision: number; tokens: VerifierToken[]; apps: Application[]; policies: Policy[] };
  let pullRequests = 0;

  const env = (over: Record<string, string> = {}) => h.env(over);
  const emit = (subject: string, data: unknown) => h.emit(subject, data);
  const get = (path: string, headers: Record<string, string> = {}, host = 'app.example.com', base = gw.url) => httpGet(base, path, headers, host);
  const creds = (s = secret) => ({ 'cf-access-client-id': token.clientId, 'cf-access-client-secret': s });

  beforeAll(async () => {
    h = await startGatewayHarness(() => state, {
      env: {
        GATEHOUSE_RATE_LIMIT_BURST: '5',
        GATEHOUSE_RATE_LIMIT_PER_MINUTE: '6',
        // This file reads the health detail (revision, keys, access-log counts).
        GATEHOUSE_HEALTH_DETAILS: 'true',
      },
      onPull: () => pullRequests++,
    });
    ({ nats, nc } = h);
    upstream = http.createServer((req, res) => {
      seenByUpstream.push(req.headers);
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        res.setHeader('set-cookie', 'up=1');
        res.end(`upstream saw ${req.method === 'GET' ? '' : `${req.method} `}${req.url}${body ? ` ${body}` : ''}`);
      });
    });
    // WebSocket-style upgrades: 101 and an echo, or a refusal that keeps the connection open.
    upstream.on('upgrade', (req: http.IncomingMessage, socket: Socket, early: Buffer) => {
      seenByUpstream.push(req.headers);
      if (req.url === '/ws-refused') return void socket.write('HTTP/1.1 403 Forbidden\r\nContent-Length: 4\r\n\r\nnope');
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: ${req.headers.upgrade}\r\n\r\n`);
      const echo = (d: Buffer) => socket.write(`echo:${d.toString()};`);
      if (early.length) echo(early);
      socket.on('data', echo);
      socket.on('end', () => socket.end()); // the client's FIN, relayed by the gateway: close too
      socket.on('error', () => socket.destroy());
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    upstreamUrl = `http://127.0.0.1:${(upstream.address() as { port: number }).port}`;
    app = appOf({ upstream: upstreamUrl });
    policy = policyOf(app.id, { include: [{ serviceToken: { tokenId: token.id } }] });
    state = { revision: 10, tokens: [token], apps: [app], policies: [policy] };
    for (const subject of ['gateway.v1.tokensSeen', 'audit.v1.accessDecisions']) {
      nc.subscribe(subject, { callback: (_e, m) => void published.push({ subject, data: m.json<{ data: unknown }>().data }) });
    }
    await nc.flush();
    gw = await startGateway(env(), silent);
  });

  afterAll(async () => {
    await gw?.stop();
    await h?.stop();
    upstream?.closeAllConnections();
    upstream?.close();
  });

  /** A raw client: the upgrade request (plus early bytes), then whatever arrives. */
  function upgradeClient(path: string, headers: Record<string, string>, early = '') {
    const socket = net.connect(Number(new URL(gw.url).port), '127.0.0.1');
    let received = '';
    const closed = new Promise<void>((r) => socket.on('close', () => r()));
    socket.on('data', (d) => (received += d.toString('latin1')));
    socket.on('error', () => undefined);
    const lines = Object.entries({
      host: 'app.example.com',
      connection: 'Upgrade',
      upgrade: 'websocket',
      'sec-websocket-version': '13',
      'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
      ...headers,
    }).map(([k, v]) => `${k}: ${v}\r\n`);
    socket.write(`GET ${path} HTTP/1.1\r\n${lines.join('')}\r\n${early}`);
    return { socket, closed, text: () => received, until: (what: string) => expectEventually(() => expect(received).toContain(what)) };
  }

  it('exchanges a service token, proxies with the JWT asserted and the secret stripped, and sets the cookie', async () => {
    const res = await get('/hello?x=1', creds());
    expect(res.status).toBe(200);
    expect(res.body).toBe('upstream saw /hello?x=1');
    const fwd = seenByUpstream.at(-1)!;
    expect(fwd['cf-access-jwt-assertion']).toMatch(/^ey/);
    expect(fwd['cf-access-client-secret']).toBeUndefined();
    expect(fwd['cf-access-client-id']).toBeUndefined();
    expect(res.headers['set-cookie']).toEqual(['up=1', expect.stringMatching(/^CF_Authorization=ey[^;]+; Max-Age=\d+; Path=\/; HttpOnly; SameSite=Lax$/)]);
    const jwt = /CF_Authorization=([^;]+)/.exec(res.headers['set-cookie']![1]!)![1]!;
    const byCookie = await get('/again', { cookie: `CF_Authorization=${jwt}` });
    expect(byCookie.status).toBe(200);
    expect((await get('/', { 'cf-access-token': jwt })).status).toBe(200);
    const identity = await get('/cdn-cgi/access/get-identity', { cookie: `CF_Authorization=${jwt}` }, 'team.test');
    expect(identity.status).toBe(200);
    expect(JSON.parse(identity.body)).toMatchObject({ token_id: token.id, name: 'int-token', client_id: token.clientId, app: { id: app.id } });
  });

  it('judges every request of one keep-alive connection on its own credentials, and logs each', async () => {
    // From a loopback address of its own, so that this test's access-log entries are told apart.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1, localAddress: '127.0.0.2' });
    const onOneConnection = (headers: Record<string, string>) =>
      new Promise<{ status: number; reused: boolean; headers: http.IncomingHttpHeaders }>((resolve, reject) => {
        const req = http.request(`${gw.url}/memo`, { agent, headers: { host: 'app.example.com', ...headers } }, (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode!, reused: req.reusedSocket, headers: res.headers }));
        });
        req.on('error', reject);
        req.end();
      });
    const first = await onOneConnection(creds());
    const jwt = /CF_Authorization=([^;]+)/.exec(first.headers['set-cookie']![1]!)![1]!;
    const tampered = `${jwt.slice(0, -4)}${jwt.slice(-4) === 'AAAA' ? 'BBBB' : 'AAAA'}`;
    const results = [first];
    const sequence: Record<string, string>[] = [
      { cookie: `CF_Authorization=${jwt}` },
      { cookie: `CF_Authorization=${jwt}` },
      { cookie: `CF_Authorization=${tampered}` },
      {},
      { 'cf-access-token': tampered, cookie: `CF_Authorization=${jwt}` },
      { cookie: `CF_Authorization=${jwt}` },
      { 'cf-access-client-id': `${'f'.repeat(32)}.access`, 'cf-access-client-secret': secret },
      creds(),
    ];
    for (const headers of sequence) {
      results.push(await onOneConnection(headers));
    }
    agent.destroy();
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 401, 401, 401, 200, 401, 200]);
    expect(results.slice(1).every((r) => r.reused)).toBe(true);
    // The access log counts each decision: every admission by the same JWT on this connection too.
    await expectEventually(
      () => {
        const decisions = published.filter((p) => p.subject === 'audit.v1.accessDecisions').flatMap((p) => p.data.decisions) as Array<{
          decision: string;
          via: string;
          count: number;
          sourceIp: string;
        }>;
        const count = (decision: string, via: string) =>
          decisions.filter((d) => d.sourceIp === '127.0.0.2' && d.decision === decision && d.via === via).reduce((n, d) => n + d.count, 0);
        expect([count('allow', 'jwt'), count('deny', 'jwt'), count('allow', 'service_token'), count('deny', 'service_token')]).toEqual([3, 2, 2, 2]);
      },
      { timeoutMs: 3000 },
    );
  });

  it("names every decision with its own ray id (Cf-Ray): on the answer, to the upstream and in the access log; a client's or upstream's Cf-Ray is never taken", async () => {
    const ray = /^[0-9a-f]{16}$/;
    const admitted = await get('/ray', { ...creds(), 'cf-ray': '0123456789abcdef' });
    expect(admitted.status).toBe(200);
    expect(admitted.headers['cf-ray']).toMatch(ray);
    expect(admitted.headers['cf-ray']).not.toBe('0123456789abcdef');
    expect(seenByUpstream.at(-1)!['cf-ray']).toBe(admitted.headers['cf-ray']);
    // An unknown client id (not this token's: its failures would count toward the rate-limit test below).
    const refused = await get('/ray', { 'cf-access-client-id': tokenOf().clientId, 'cf-access-client-secret': secret });
    expect(refused.status).toBe(401);
    expect(refused.headers['cf-ray']).toMatch(ray);
    const other = await get('/ray', creds());
    expect(new Set([admitted.headers['cf-ray'], refused.headers['cf-ray'], other.headers['cf-ray']]).size).toBe(3);
    const forward = await get('/cdn-cgi/access/authorize', { ...creds(), 'x-forwarded-host': 'app.example.com', 'x-forwarded-uri': '/ray' }, 'team.test');
    expect(forward.headers['cf-ray']).toMatch(ray);
    await expectEventually(
      () => {
        const decisions = published.filter((p) => p.subject === 'audit.v1.accessDecisions').flatMap((p) => p.data.decisions);
        expect(decisions).toEqual(expect.arrayContaining([expect.objectContaining({ decision: 'deny', rayId: refused.headers['cf-ray'] })]));
      },
      { timeoutMs: 3000 },
    );
  });

  it("replaces an upstream's own Cf-Ray with the gateway's", async () => {
    const fake = http.createServer((_req, res) => {
      res.setHeader('cf-ray', 'ffffffffffffffff');
      res.end('ok');
    });
    await new Promise<void>((r) => fake.listen(0, '127.0.0.1', r));
    try {
      const pool = new UpstreamPool({ trustProxy: false });
      const port = (fake.address() as { port: number }).port;
      const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
        const server = http.createServer((req, out) =>
          pool.forward(req, out, {
            upstream: new URL(`http://127.0.0.1:${port}`),
            jwt: 'j',
            singleHeader: null,
            setCookie: null,
            clientIp: '127.0.0.1',
            rayId: '00000000000000aa',
            onError: () => out.end(),
          }),
        );
        server.listen(0, '127.0.0.1', () => {
          http
            .get(`http://127.0.0.1:${(server.address() as { port: number }).port}/`, (r) => {
              r.resume();
              r.on('end', () => {
                server.close();
                pool.close();
                resolve(r);
              });
            })
            .on('error', reject);
        });
      });
      expect(res.headers['cf-ray']).toBe('00000000000000aa');
    } finally {
      fake.close();
    }
  });

  describe('upgrades (WebSocket)', () => {
    it('authenticates the upgrade, relays the 101 with the cookie, and tunnels bytes both ways', async () => {
      const c = upgradeClient('/ws', creds(), 'early');
      await c.until('echo:early;');
      expect(c.text()).toMatch(/^HTTP\/1\.1 101 Switching Protocols\r\n/);
      expect(c.text()).toMatch(/\r\nUpgrade: websocket\r\n/);
      expect(c.text()).toMatch(/\r\nSet-Cookie: CF_Authorization=ey[^;]+; Max-Age=\d+; Path=\/; HttpOnly; SameSite=Lax\r\n/);
      const fwd = seenByUpstream.at(-1)!;
      expect(fwd['cf-access-jwt-assertion']).toMatch(/^ey/);
      expect(fwd['cf-access-client-secret']).toBeUndefined();
      expect(fwd).toMatchObject({ upgrade: 'websocket', connection: 'Upgrade', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' });
      c.socket.write('later');
      await c.until('echo:later;');
      c.socket.end();
      await c.closed;
    });

    it('refuses an upgrade without credentials (401 JSON, closed) and never reaches the upstream', async () => {
      const before = seenByUpstream.length;
      const open = await gw.connections(); // other tests' idle keep-alive connections
      const c = upgradeClient('/ws', {});
      await c.closed;
      expect(c.text()).toMatch(/^HTTP\/1\.1 401 Unauthorized\r\n/);
      expect(JSON.parse(c.text().slice(c.text().indexOf('\r\n\r\n') + 4))).toEqual({ error: 'unauthorized', reason: 'no_credentials' });
      // An unknown client id (not this token's: the rate-limit test below counts its failures).
      const wrong = upgradeClient('/ws', { 'cf-access-client-id': `${'0'.repeat(32)}.access`, 'cf-access-client-secret': generateClientSecret() });
      await wrong.closed;
      expect(wrong.text()).toMatch(/^HTTP\/1\.1 401 /);
      expect(seenByUpstream.length).toBe(before);
      // The refused sockets are closed on the gateway's side too, not left half-open.
      await expectEventually(async () => expect(await gw.connections()).toBeLessThanOrEqual(open));
    });

    it("relays an upstream's refusal of the upgrade and closes the connection after it", async () => {
      const c = upgradeClient('/ws-refused', creds());
      await c.closed;
      // Relayed as parsed (hop-by-hop headers dropped), with the decision's id and the exchange's cookie, then closed.
      expect(c.text()).toMatch(
        /^HTTP\/1\.1 403 Forbidden\r\nContent-Length: 4\r\nCf-Ray: [0-9a-f]{16}\r\nSet-Cookie: CF_Authorization=[^\r]+\r\nConnection: close\r\n\r\nnope$/,
      );
    });

    it('does not upgrade the access endpoints', async () => {
      const c = upgradeClient('/cdn-cgi/access/certs', {});
      await c.closed;
      expect(c.text()).toMatch(/^HTTP\/1\.1 400 /);
    });
  });

  it('streams request bodies to the upstream', async () => {
    const res = await fetch(`${gw.url}/upload`, {
      method: 'POST',
      headers: { ...creds(), 'content-type': 'application/json' },
      body: JSON.stringify({ a: 1 }),
    }).catch((e) => e);
    // fetch cannot set Host; the gateway answers 404 for its own address, which proves routing by Host.
    expect(res.status).toBe(404);
    const posted = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(
        `${gw.url}/upload`,
        { method: 'POST', headers: { host: 'app.example.com', ...creds(), 'content-type': 'application/json' } },
        (r) => {
          let body = '';
          r.on('data', (c) => (body += c));
          r.on('end', () => resolve({ status: r.statusCode!, body }));
        },
      );
      req.on('error', reject);
      req.write('{"a":');
      req.end('1}');
    });
    expect(posted).toEqual({ status: 200, body: 'upstream saw POST /upload {"a":1}' });
  });

  it('publishes the JWKS with a real X.509 certificate, and keeps keys across restarts', async () => {
    const res = await get('/cdn-cgi/access/certs', {}, 'team.test');
    const body = JSON.parse(res.body);
    expect(body.keys[0]).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig', kid: expect.any(String) });
    const cert = new X509Certificate(body.public_cert.cert);
    expect(body.public_certs.map((c: { kid: string }) => c.kid)).toContain(body.public_cert.kid);
    expect(cert.publicKey.export({ format: 'jwk' })).toMatchObject({ n: body.keys.find((k: { kid: string }) => k.kid === body.public_cert.kid).n });
    const second = await startGateway(env({ GATEHOUSE_HEALTH_DETAILS: 'false' }), silent);
    try {
      expect(second.keys.kids()).toEqual(gw.keys.kids());
      // Health: the public answer is the status only; the detail (key ids, revision, errors) only
      // where GATEHOUSE_HEALTH_DETAILS allows it.
      const publicHealth = JSON.parse(await (await fetch(`${second.url}/cdn-cgi/access/health`)).text());
      expect(Object.keys(publicHealth)).toEqual(['status']);
      expect(publicHealth.status).toMatch(/^(ok|loading|stale)$/);
      const detail = JSON.parse((await get('/cdn-cgi/access/health', {}, 'team.test')).body);
      expect(detail).toMatchObject({ status: 'ok', signing_keys: gw.keys.kids(), revision: expect.any(Number), access_log_dropped: 0 });
    } finally {
      await second.stop();
    }
  });

  it('forward auth trusts only the headers GATEHOUSE_FORWARD_AUTH_HEADERS names; auto refuses sources that disagree', async () => {
    const modes = ['nginx', 'traefik', 'envoy'] as const;
    const gateways = await Promise.all(modes.map((mode) => startGateway(env({ GATEHOUSE_FORWARD_AUTH_HEADERS: mode }), silent)));
    try {
      await expectEventually(() => expect(gateways.every((g) => g.replica.loaded)).toBe(true), { timeoutMs: 5000 });
      const [nginx, traefik, envoy] = gateways as [RunningGateway, RunningGateway, RunningGateway];
      const ask = (g: RunningGateway, headers: Record<string, string>, host = 'gateway.internal', path = '/cdn-cgi/access/authorize') =>
        get(path, { ...creds(), ...headers }, host, g.url).then((r) => r.status);
      const own = {
        nginx: { 'x-original-url': 'http://app.example.com/x' },
        traefik: { 'x-forwarded-host': 'app.example.com', 'x-forwarded-uri': '/x' },
      };
      // Each proxy's own headers.
      await expect(ask(nginx, own.nginx)).resolves.toBe(200);
      await expect(ask(traefik, own.traefik)).resolves.toBe(200);
      await expect(ask(envoy, {}, 'app.example.com', '/cdn-cgi/access/authorize/x')).resolves.toBe(200);
      // A client-added header naming the app its token is admitted to, for a request the proxy says
      // is for another host: ignored (that host has no application: 404), never obeyed.
      await expect(ask(nginx, { 'x-original-url': 'http://unknown.test/', ...own.traefik })).resolves.toBe(404);
      await expect(ask(traefik, { 'x-forwarded-host': 'unknown.test', 'x-forwarded-uri': '/', ...own.nginx })).resolves.toBe(404);
      await expect(ask(envoy, { ...own.nginx, ...own.traefik }, 'unknown.test', '/cdn-cgi/access/authorize/')).resolves.toBe(404);
      // Another proxy's headers alone are not enough.
      await expect(ask(nginx, own.traefik)).resolves.toBe(400);
      await expect(ask(traefik, own.nginx)).resolves.toBe(400);
      await expect(ask(envoy, own.nginx)).resolves.toBe(404);
      // auto (this file's gateway): the same attack is a 400.
      await expect(ask(gw, { 'x-forwarded-host': 'unknown.test', 'x-forwarded-uri': '/', ...own.nginx })).resolves.toBe(400);
      await expect(ask(gw, own.traefik)).resolves.toBe(200);
    } finally {
      await Promise.all(gateways.map((g) => g.stop()));
    }
  });

  it('applies a change event within a second (open WebSocket tunnels too), and heals a lost one by resync', async () => {
    const tunnel = upgradeClient('/ws', creds());
    await tunnel.until('101 Switching Protocols');
    emit('tokens.v1.updated', {
      kind: 'updated',
      revision: 11,
      occurredAt: new Date().toISOString(),
      actor: { type: 'admin', id: 'x' },
      token: { ...token, enabled: false },
    });
    await expectEventually(async () => expect((await get('/', creds())).status).toBe(401), { timeoutMs: 1000 });
    // The tunnel that the now-disabled token opened is cut, not left running.
    let cut = false;
    void tunnel.closed.then(() => (cut = true));
    await expectEventually(() => expect(cut).toBe(true), { timeoutMs: 1000 });
    // The re-enable event is "lost": only a pull (on the head poll) brings it.
    state = { ...state, revision: 12, tokens: [{ ...token, enabled: true }] };
    await expectEventually(async () => expect((await get('/', creds())).status).toBe(200), { timeoutMs: 3000 });
    expect(gw.replica.revision).toBe(12);
  });

  it('answers 403 when no policy admits, 404 for unknown hosts, 401 for garbage, never 500', async () => {
    const other = policyOf(app.id, { id: policy.id, include: [{ serviceToken: { tokenId: tokenOf().id } }] });
    emit('policies.v1.changed', { kind: 'upserted', revision: 13, occurredAt: new Date().toISOString(), policy: other });
    await expectEventually(async () => expect((await get('/', creds())).status).toBe(403), { timeoutMs: 1000 });
    emit('policies.v1.changed', { kind: 'upserted', revision: 14, occurredAt: new Date().toISOString(), policy });
    await expectEventually(async () => expect((await get('/', creds())).status).toBe(200), { timeoutMs: 1000 });
    expect((await get('/', creds(), 'unknown.example.com')).status).toBe(404);
    const garbage = await get('/', { 'cf-access-token': 'x'.repeat(20_000) });
    expect(garbage.status).toBe(401);
    expect(JSON.parse(garbage.body)).toEqual({ error: 'unauthorized', reason: 'invalid_jwt' });
    expect((await get('/', { 'cf-access-client-id': token.clientId, 'cf-access-client-secret': 'é' })).status).toBe(401);
  });

  it('rate limits failed attempts per client id with 429 and Retry-After, without locking out the right secret', async () => {
    const wrong = generateClientSecret();
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) statuses.push((await get('/', creds(wrong), 'app.example.com')).status);
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    const limited = await get('/', creds(wrong));
    expect(limited.status).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(JSON.parse(limited.body)).toEqual({ error: 'too_many_requests', reason: 'too_many_failed_attempts' });
    // The holder of the right secret is not locked out by someone else's guesses.
    expect((await get('/', creds())).status).toBe(200);
  });

  it('reports decisions and last-seen in batches, never a secret or a JWT', async () => {
    await expectEventually(
      () => {
        const decisions = published.filter((p) => p.subject === 'audit.v1.accessDecisions').flatMap((p) => p.data.decisions);
        expect(decisions).toEqual(
          expect.arrayContaining([expect.objectContaining({ decision: 'allow', tokenId: token.id, appId: app.id, via: 'service_token' })]),
        );
        expect(decisions).toEqual(expect.arrayContaining([expect.objectContaining({ decision: 'deny', via: 'service_token' })]));
        expect(published.some((p) => p.subject === 'gateway.v1.tokensSeen' && p.data.seen.some((s: { tokenId: string }) => s.tokenId === token.id))).toBe(true);
      },
      { timeoutMs: 3000 },
    );
    const text = JSON.stringify(published);
    expect(text).not.toContain(secret);
    expect(text).not.toContain('gatehouse_');
    expect(text).not.toMatch(/eyJ[A-Za-z0-9_-]+\.eyJ/);
  });

  it('keeps serving from its replica while NATS is down, reports stale, and refuses unknown credentials', async () => {
    const health = async () => JSON.parse((await get('/cdn-cgi/access/health', {}, 'team.test')).body);
    const unknown = tokenOf().clientId;
    await nats.pause();
    try {
      await expectEventually(async () => expect(await health()).toMatchObject({ stale: true, status: 'stale' }), { timeoutMs: 15_000 });
      expect((await get('/', creds())).status).toBe(200);
      expect((await get('/', { 'cf-access-client-id': unknown, 'cf-access-client-secret': secret })).status).toBe(401);
      // The access log of these decisions cannot be stored now: it waits in the gateway.
      await expectEventually(async () => expect((await health()).access_log_pending).toBeGreaterThan(0), { timeoutMs: 5000 });
    } finally {
      await nats.resume();
    }
    await expectEventually(async () => expect(await health()).toMatchObject({ stale: false, status: 'ok' }), { timeoutMs: 15_000 });
    expect(pullRequests).toBeGreaterThan(1);
    // ...and is handed over once NATS is back: nothing decided during the outage is lost.
    await expectEventually(
      async () => {
        expect(await health()).toMatchObject({ access_log_pending: 0, access_log_dropped: 0 });
        const decisions = published.filter((p) => p.subject === 'audit.v1.accessDecisions').flatMap((p) => p.data.decisions);
        expect(decisions).toEqual(expect.arrayContaining([expect.objectContaining({ decision: 'deny', clientId: unknown })]));
      },
      { timeoutMs: 20_000 },
    );
  }, 60_000);
});
