import http from 'node:http';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { expectEventually, freePort } from '@gatehouse/testing';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import { request as rawRequest } from '../src/raw-http.js';
import { startSystem, type System } from '../src/system.js';

/**
 * The gateway (a real auth-service process) under a client that holds one valid service token and
 * tries to reach what it is not admitted to: path confusion, forwarding headers, forward-auth
 * sources, upgrades, framing tricks on raw sockets.
 *
 * The upstream is a plain node:http server that records every request it parsed. After every
 * test, each recorded request must carry a JWT the gateway signed for the application an origin
 * would route that request to: by the most generous reading any common origin makes of its
 * path (decoded once or twice, overlong UTF-8 read, NFKC-normalised, `\` as `/`, `;` parameters
 * stripped, dot segments resolved, case ignored) and of its host (X-Forwarded-Host over Host).
 * A check passes only when the gateway refuses (4xx) or the upstream got what the gateway judged.
 */

interface Parsed {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  upgrade: boolean;
}

/** A request through Node's client (paths it accepts; for the rest see `raw`). */
const request = (port: number, host: string, path: string, headers: Record<string, string> = {}, method = 'GET') =>
  rawRequest(`http://127.0.0.1:${port}`, host, headers, path, method);

/** Bytes on a socket of their own; everything the gateway answers until it closes (or 5 s). */
function raw(port: number, bytes: string | Buffer): Promise<{ text: string; statuses: number[] }> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    const done = () => resolve({ text, statuses: [...text.matchAll(/HTTP\/1\.1 (\d{3}) [A-Z]/g)].map((m) => Number(m[1])) });
    socket.setTimeout(5000, () => socket.destroy());
    socket.on('data', (d) => (text += d.toString('latin1')));
    socket.on('close', done);
    socket.on('error', () => undefined);
    socket.write(bytes);
  });
}

/** The bytes of one request head (CRLF line ends; the caller adds the blank line and body). */
const head = (requestLine: string, headers: Array<[string, string]>) => `${requestLine}\r\n${headers.map(([k, v]) => `${k}: ${v}\r\n`).join('')}`;

/** Percent-decoding as lax origins do it: every %XX, overlong two-byte UTF-8 read as its character. */
function laxDecode(s: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const m = /^%([0-9A-Fa-f]{2})/.exec(s.slice(i));
    if (m) {
      bytes.push(parseInt(m[1]!, 16));
      i += 2;
    } else bytes.push(...Buffer.from(s[i]!, 'utf8'));
  }
  let out = '';
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    const n = bytes[i + 1];
    if ((b === 0xc0 || b === 0xc1) && n !== undefined && n >= 0x80 && n < 0xc0) {
      out += String.fromCharCode(((b & 0x1f) << 6) | (n & 0x3f));
      i++;
    } else out += String.fromCharCode(b);
  }
  // Read as UTF-8 where it is UTF-8 (look-alikes), else as latin1.
  const asUtf8 = Buffer.from(out, 'latin1').toString('utf8');
  return asUtf8.includes('\ufffd') ? out : asUtf8;
}

function resolveDots(p: string): string {
  const out: string[] = [];
  for (const s of p.split('/')) {
    if (s === '' || s === '.') continue;
    if (s === '..') out.pop();
    else out.push(s);
  }
  return `/${out.join('/')}${p.endsWith('/') && out.length ? '/' : ''}`;
}

/** Every path an origin might route the request target to. */
function originReadings(url: string): string[] {
  const path = url.split('?')[0]!;
  const readings = new Set<string>();
  let text = path;
  for (let round = 0; round < 3; round++) {
    for (const t of [text, text.replace(/;[^/]*/g, '')]) readings.add(resolveDots(t.normalize('NFKC').replace(/\\/g, '/').toLowerCase()));
    text = laxDecode(text);
  }
  return [...readings];
}

const underPrefix = (path: string, prefix: string) => path === prefix || (path.startsWith(prefix) && '/.'.includes(path[prefix.length]!));

describe('the gateway under a hostile client', () => {
  let sys: System;
  let gwPort: number;
  let gw: string;
  let upstream: http.Server;
  const records: Parsed[] = [];
  let mark = 0;
  /** Answers the upstream holds back (`/slow…`) until a test releases them, and its connections open now and at most. */
  const heldSlow: Array<() => void> = [];
  const upstreamConnections = { open: 0, most: 0 };
  const suffix = randomBytes(4).toString('hex');
  const host = `site-${suffix}.hostile.test`;
  const otherHost = `other-${suffix}.hostile.test`;
  const baseHost = `base-${suffix}.hostile.test`;
  let accountId: string;
  let broadApp: any;
  let adminApp: any;
  let otherApp: any;
  let baseApp: any;
  let broad: any; // admitted to `host` (broad policy) and `baseHost`
  let admin: any; // admitted to `host/admin` and `otherHost`
  let jwks: ReturnType<typeof createLocalJWKSet>;

  const ok = async (path: string, method = 'GET', json?: unknown) => {
    const res = await sys.api(`/client/v4/accounts/${accountId}${path}`, { method, json });
    if (res.status !== 200) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body.result;
  };
  const creds = (t: any): Record<string, string> => ({ 'cf-access-client-id': t.client_id, 'cf-access-client-secret': t.client_secret });
  const credLines = (t: any): Array<[string, string]> => Object.entries(creds(t));
  const at = (path: string, t: any = broad, hostHeader = host, extra: Record<string, string> = {}) =>
    request(gwPort, hostHeader, path, { ...creds(t), ...extra });

  /** The application an origin would serve a parsed request from (the most sensitive reading wins). */
  function expectedApp(r: Parsed): { app: any; why: string } {
    const h = String(r.headers['x-forwarded-host'] ?? r.headers.host ?? '')
      .toLowerCase()
      .replace(/:\d+$/, '')
      .replace(/\.$/, '');
    if (h === otherHost) return { app: otherApp, why: `host ${h}` };
    if (h === baseHost) return { app: baseApp, why: `host ${h}` };
    if (h !== host) return { app: null, why: `unknown host ${h}` };
    // Some origins route by X-Original-URL / X-Rewrite-URL instead of the request target.
    const targets = [r.url, r.headers['x-original-url'], r.headers['x-rewrite-url']].filter((t): t is string => typeof t === 'string');
    const admin = targets.flatMap(originReadings).find((p) => underPrefix(p, '/admin'));
    return admin ? { app: adminApp, why: `path ${r.url} read as ${admin}` } : { app: broadApp, why: `path ${r.url}` };
  }

  /** Every request the upstream parsed since the test began carries a JWT for the app it serves. */
  async function assertJudged(since: number): Promise<void> {
    for (const r of records.slice(since)) {
      // CGI, WSGI and Rack read `X_Forwarded_Host` as `X-Forwarded-Host`: no such spelling of an
      // identity, credential or forwarding header may reach the upstream.
      const lookalike = Object.keys(r.headers).find(
        (k) =>
          k.includes('_') &&
          /^(cf-access-|x-gatehouse-|x-forwarded-|x-original-url$|x-rewrite-url$|x-real-ip$|forwarded$|cf-ray$|host$)/.test(k.replace(/_/g, '-')),
      );
      if (lookalike) throw new Error(`the upstream parsed ${r.method} ${r.url} with a client's ${lookalike} header`);
      const { app, why } = expectedApp(r);
      if (!app) throw new Error(`the upstream parsed a request for no application (${why}): ${r.method} ${r.url}`);
      const jwt = String(r.headers['cf-access-jwt-assertion'] ?? '');
      const verified = await jwtVerify(jwt, jwks, { issuer: gw, audience: app.aud, algorithms: ['RS256'] }).catch((e: Error) => e);
      if (verified instanceof Error)
        throw new Error(`the upstream parsed ${r.method} ${r.url} (${why}: ${app.name}) without that application's JWT: ${verified.message}`);
      if (app === baseApp) {
        // The upstream's own base path can never be escaped.
        for (const p of originReadings(r.url)) if (!underPrefix(p, '/base')) throw new Error(`${r.url} escapes the upstream's base path (read as ${p})`);
      }
    }
  }

  beforeAll(async () => {
    upstream = http.createServer((req, res) => {
      let body = '';
      req.setEncoding('latin1');
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        records.push({ method: req.method!, url: req.url!, headers: req.headers, body, upgrade: false });
        if (req.url!.startsWith('/slow')) return void heldSlow.push(() => res.end(`upstream ${req.method} ${req.url}`));
        res.end(`upstream ${req.method} ${req.url}`);
      });
    });
    upstream.on('connection', (socket: net.Socket) => {
      upstreamConnections.most = Math.max(upstreamConnections.most, ++upstreamConnections.open);
      socket.on('close', () => upstreamConnections.open--);
    });
    // An upstream that accepts every upgrade, h2c included: only the gateway can keep h2c out.
    upstream.on('upgrade', (req: http.IncomingMessage, socket: net.Socket) => {
      records.push({ method: req.method!, url: req.url!, headers: req.headers, body: '', upgrade: true });
      socket.on('error', () => socket.destroy());
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: ${req.headers.upgrade}\r\n\r\n`);
      socket.on('data', (d) => socket.write(`echo:${d.toString('latin1')}`));
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const upstreamUrl = `http://127.0.0.1:${(upstream.address() as net.AddressInfo).port}`;
    gwPort = await freePort();
    gw = `http://127.0.0.1:${gwPort}`;
    sys = await startSystem({
      extra: [
        {
          name: 'auth-service',
          migrate: true,
          env: {
            GATEHOUSE_GATEWAY_PORT: String(gwPort),
            GATEHOUSE_TEAM_URL: gw,
            GATEHOUSE_RATE_LIMIT_BURST: '10000',
            GATEHOUSE_RATE_LIMIT_IP_BURST: '100000',
            GATEHOUSE_RESYNC_INTERVAL_MS: '2000',
          },
        },
      ],
    });
    await expectEventually(async () => expect(JSON.parse((await request(gwPort, 'x', '/cdn-cgi/access/health')).body)).toEqual({ status: 'ok' }), {
      timeoutMs: 20_000,
      intervalMs: 100,
    }).catch((e) => {
      throw new Error(`gateway did not become healthy: ${(e as Error).message}\n${sys.logs()}`);
    });
    accountId = await sys.defaultAccountId();
    broadApp = await ok('/access/apps', 'POST', { name: `Broad ${suffix}`, domain: host, upstream: upstreamUrl });
    adminApp = await ok('/access/apps', 'POST', { name: `Admin ${suffix}`, domain: `${host}/admin`, upstream: upstreamUrl });
    otherApp = await ok('/access/apps', 'POST', { name: `Other ${suffix}`, domain: otherHost, upstream: upstreamUrl });
    baseApp = await ok('/access/apps', 'POST', { name: `Base ${suffix}`, domain: baseHost, upstream: `${upstreamUrl}/base/` });
    broad = await ok('/access/service_tokens', 'POST', { name: `broad-${suffix}` });
    admin = await ok('/access/service_tokens', 'POST', { name: `admin-${suffix}` });
    const admit = (app: any, t: any) =>
      ok(`/access/apps/${app.id}/policies`, 'POST', {
        name: `${t.name} on ${app.name}`,
        decision: 'non_identity',
        include: [{ service_token: { token_id: t.id } }],
      });
    await Promise.all([admit(broadApp, broad), admit(baseApp, broad), admit(adminApp, admin), admit(otherApp, admin)]);
    await expectEventually(
      async () => {
        expect((await at('/ready')).status).toBe(200);
        expect((await at('/admin/ready', admin)).status).toBe(200);
        expect((await at('/ready', admin, otherHost)).status).toBe(200);
        expect((await at('/ready', broad, baseHost)).status).toBe(200);
      },
      { timeoutMs: 5000 },
    );
    jwks = createLocalJWKSet(JSON.parse((await request(gwPort, host, '/cdn-cgi/access/certs')).body) as JSONWebKeySet);
  });
  afterAll(async () => {
    upstream?.closeAllConnections();
    upstream?.close();
    await sys?.stop();
  });
  beforeEach(() => {
    mark = records.length;
  });
  afterEach(async () => {
    await assertJudged(mark);
  });

  describe('paths (item 2): one canonical path chooses the application and is what the upstream gets', () => {
    it('the broad token never reaches /admin, however the path is spelled', async () => {
      const spellings = [
        '/Admin/users',
        '/ADMIN/users',
        '/%61dmin/users',
        '/%41DMIN/users',
        '//admin/users',
        '///admin/users',
        '/./admin/users',
        '/x/../admin/users',
        '/x/./../admin/users',
        '/admin;v=1/users',
        '/x/..;/admin/users',
        '/admin/users;jsessionid=1',
        '/%2e/admin/users',
        '/%2E/admin/users',
        '/x/%2e%2e/admin/users',
        '/x/.%2E/admin/users',
        '/%252e/admin/users',
        '/x/%252e%252e/admin/users',
        '/x/%25%32%65%25%32%65/admin/users',
        '/admin%2fusers',
        '/x%2f..%2fadmin/users',
        '/x/..%2Fadmin/users',
        '/x/..%5cadmin/users',
        '/%5cadmin/users',
        '/x/%c0%ae%c0%ae/admin/users',
        '/%c0%afadmin/users',
        '/%ef%bd%81dmin/users', // U+FF41 FULLWIDTH a
        '/x/%e2%80%a4%e2%80%a4/admin/users', // U+2024 ONE DOT LEADER, twice
        '/admin%00/users',
        '/admin.json',
        '/Admin.',
        '/admin',
        '/admin/',
      ];
      for (const path of spellings) {
        const res = await at(path);
        expect([path, res.status >= 400 && res.status < 500]).toEqual([path, true]);
      }
    });

    it("what Node's client will not send goes on a raw socket: CONNECT, backslashes, raw Unicode, NUL, absolute form", async () => {
      const connect = await raw(gwPort, `${head(`CONNECT ${host}:80 HTTP/1.1`, [['Host', `${host}:80`], ...credLines(broad)])}\r\n`);
      expect(connect.statuses).toEqual([405]);
      const targets = [
        '/x\\..\\admin/users',
        '\\admin/users',
        '/\uff41dmin/users',
        '/admin\u0000/users',
        'http://other.test/admin/users',
        `http://${host}/admin/users`,
        '*',
        `${host}:80`,
      ];
      for (const target of targets) {
        const bytes = Buffer.from(`${head(`GET ${target} HTTP/1.1`, [['Host', host], ...credLines(broad), ['Connection', 'close']])}\r\n`, 'utf8');
        const { statuses } = await raw(gwPort, bytes);
        expect([target, statuses.length === 1 && statuses[0]! >= 400 && statuses[0]! < 500]).toEqual([target, true]);
      }
    });

    it('the admitted token gets the canonical path: decoded, dots resolved, slashes merged, case and query kept', async () => {
      const cases: Array<[string, string]> = [
        ['/%61dmin/Users?x=/../y&z=%2f', '/admin/Users?x=/../y&z=%2f'],
        ['//Admin//users/', '/Admin/users/'],
        ['/x/../admin/./users/%7e%2d', '/admin/users/~-'],
        ['/admin/a%20b%c3%a9', '/admin/a%20b%C3%A9'],
      ];
      for (const [sent, forwarded] of cases) {
        const res = await at(sent, admin);
        expect([sent, res.status, res.body]).toEqual([sent, 200, `upstream GET ${forwarded}`]);
      }
      // The broad token is still admitted to everything outside /admin, in canonical form too.
      expect((await at('/x/../administrator')).body).toBe('upstream GET /administrator');
      // `//host/path` is no network-path reference to another host: the upstream gets one leading slash.
      expect((await at(`//${otherHost}/admin/users`)).body).toBe(`upstream GET /${otherHost}/admin/users`);
    });

    it('hosts: case, port and a trailing dot name the same application', async () => {
      for (const h of [host.toUpperCase(), `${host}.`, `${host}:${gwPort}`, `${host.toUpperCase()}.:80`]) {
        expect([h, (await at('/admin/users', broad, h)).status]).toEqual([h, 403]);
        expect([h, (await at('/admin/users', admin, h)).status]).toEqual([h, 200]);
      }
      for (const h of [`${host}..`, `x@${host}`, `${host}:80:80`, `${host}/admin`]) {
        const res = await at('/admin/users', broad, h).catch(() => ({ status: 400 }));
        expect([h, res.status >= 400 && res.status < 500]).toEqual([h, true]);
      }
      // No Host at all (HTTP/1.0): no application, nothing forwarded.
      const { statuses } = await raw(gwPort, `${head('GET /admin/users HTTP/1.0', credLines(broad))}\r\n`);
      expect(statuses).toEqual([404]);
    });

    it('headers that some origins route by instead of the path (X-Original-URL, X-Rewrite-URL) are refused', async () => {
      for (const name of ['X-Original-URL', 'x-rewrite-url']) {
        const res = await at('/public', broad, host, { [name]: '/admin/users' });
        expect([name, res.status, JSON.parse(res.body)]).toEqual([name, 400, { error: 'bad_request', reason: 'path_override_header' }]);
      }
    });

    it("an upstream's base path can never be escaped", async () => {
      for (const path of ['/../x', '/%2e%2e/x', '/a/../../x', '/.%2e/x', '//../x', '/a/%2e%2e/%2e%2e/x']) {
        const res = await at(path, broad, baseHost);
        expect([path, res.status]).toEqual([path, 400]);
      }
      expect((await at('/a/../ok', broad, baseHost)).body).toBe('upstream GET /base/ok');
    });

    it('pipelined requests on one connection are each judged on their own', async () => {
      const first = head('GET /public HTTP/1.1', [['Host', host], ...credLines(broad)]);
      const second = head('GET /Admin/users HTTP/1.1', [['Host', host], ...credLines(broad)]);
      const third = head('GET /%2e%2e/admin HTTP/1.1', [['Host', host], ...credLines(broad), ['Connection', 'close']]);
      const { statuses } = await raw(gwPort, `${first}\r\n${second}\r\n${third}\r\n`);
      expect(statuses).toEqual([200, 403, 400]);
      expect(records.slice(mark).map((r) => r.url)).toEqual(['/public']);
    });
  });

  describe('forward auth (item 4): the client never chooses the application', () => {
    const authorize = (headers: Record<string, string>, path = '/cdn-cgi/access/authorize', hostHeader = `127.0.0.1:${gwPort}`) =>
      request(gwPort, hostHeader, path, headers);

    it('a client-added X-Original-URL through Traefik-style forwarding is refused, not obeyed', async () => {
      // Traefik sets X-Forwarded-Host/-Uri and passes every client header on: the client adds
      // X-Original-URL naming the app its token is admitted to, for a request to another host.
      const attack = await authorize({
        'x-forwarded-host': otherHost,
        'x-forwarded-uri': '/',
        'x-forwarded-proto': 'http',
        'x-original-url': `http://${host}/`,
        ...creds(broad),
      });
      expect([attack.status, JSON.parse(attack.body)]).toEqual([400, { error: 'bad_request', reason: 'forward_auth_sources_disagree' }]);
      expect(attack.headers['cf-access-jwt-assertion']).toBeUndefined();
      // The same through nginx-style (X-Original-URL set, the client adds X-Forwarded-*), and Envoy-style.
      expect((await authorize({ 'x-original-url': `http://${otherHost}/`, 'x-forwarded-host': host, ...creds(broad) })).status).toBe(400);
      expect((await authorize({ 'x-original-url': `http://${host}/admin`, 'x-forwarded-uri': '/public', ...creds(broad) })).status).toBe(400);
      expect((await authorize({ 'x-original-url': `http://${host}/`, ...creds(broad) }, '/cdn-cgi/access/authorize/', otherHost)).status).toBe(400);
      // Twice the same header: which one the proxy set cannot be known.
      const twice = await raw(
        gwPort,
        `${head('GET /cdn-cgi/access/authorize HTTP/1.1', [['Host', '127.0.0.1'], ['X-Forwarded-Host', otherHost], ['X-Forwarded-Host', host], ['X-Forwarded-Uri', '/'], ...credLines(broad), ['Connection', 'close']])}\r\n`,
      );
      expect(twice.statuses).toEqual([400]);
      // Without the attack, each proxy's own headers work.
      expect((await authorize({ 'x-forwarded-host': host, 'x-forwarded-uri': '/', ...creds(broad) })).status).toBe(200);
      expect((await authorize({ 'x-original-url': `http://${host}/`, ...creds(broad) })).status).toBe(200);
      expect((await authorize(creds(broad), '/cdn-cgi/access/authorize/', host)).status).toBe(200);
    });

    it('judges the same canonical path as the proxy does', async () => {
      const checks: Array<[Record<string, string>, string, string, number]> = [
        [{ 'x-forwarded-host': host, 'x-forwarded-uri': '/Admin/users' }, '/cdn-cgi/access/authorize', `127.0.0.1:${gwPort}`, 403],
        [{ 'x-forwarded-host': host, 'x-forwarded-uri': '/x/../admin' }, '/cdn-cgi/access/authorize', `127.0.0.1:${gwPort}`, 403],
        [{ 'x-forwarded-host': host, 'x-forwarded-uri': '/%2e%2e/admin' }, '/cdn-cgi/access/authorize', `127.0.0.1:${gwPort}`, 400],
        [{ 'x-forwarded-host': host, 'x-forwarded-uri': '/admin;v=1/users' }, '/cdn-cgi/access/authorize', `127.0.0.1:${gwPort}`, 400],
        [{ 'x-original-url': `http://${host}/%61dmin` }, '/cdn-cgi/access/authorize', `127.0.0.1:${gwPort}`, 403],
        [{ 'x-original-url': `http://${host}/x/..%2fadmin` }, '/cdn-cgi/access/authorize', `127.0.0.1:${gwPort}`, 400],
        [{ 'x-original-url': `http:\\\\${host}\\admin` }, '/cdn-cgi/access/authorize', `127.0.0.1:${gwPort}`, 400],
        [{}, '/cdn-cgi/access/authorize//ADMIN/users', host, 403],
        [{}, '/cdn-cgi/access/authorize/../admin', host, 400],
        [{}, '/cdn-cgi/access/authorize/%2e%2e/admin', host, 400],
      ];
      for (const [headers, path, hostHeader, status] of checks) {
        const res = await authorize({ ...headers, ...creds(broad) }, path, hostHeader);
        expect([headers, path, res.status]).toEqual([headers, path, status]);
      }
      expect((await authorize({ 'x-forwarded-host': host, 'x-forwarded-uri': '/Admin/users', ...creds(admin) })).status).toBe(200);
    });
  });

  describe('headers and credentials', () => {
    it('duplicate CF-Access-Client-* headers and huge header values are refused, never half-read', async () => {
      const dupId = await raw(
        gwPort,
        `${head('GET / HTTP/1.1', [['Host', host], ['CF-Access-Client-Id', admin.client_id], ...credLines(broad), ['Connection', 'close']])}\r\n`,
      );
      expect(dupId.statuses).toEqual([401]);
      const dupSecret = await raw(
        gwPort,
        `${head('GET /admin HTTP/1.1', [['Host', host], ...credLines(admin), ['CF-Access-Client-Secret', broad.client_secret], ['Connection', 'close']])}\r\n`,
      );
      expect(dupSecret.statuses).toEqual([401]);
      const twoHosts = await raw(
        gwPort,
        `${head('GET /public HTTP/1.1', [['Host', host], ['Host', otherHost], ...credLines(broad), ['Connection', 'close']])}\r\n`,
      );
      expect(twoHosts.statuses).toEqual([400]);
      const huge = await raw(
        gwPort,
        `${head('GET / HTTP/1.1', [['Host', host], ...credLines(broad), ['X-Big', 'a'.repeat(70_000)], ['Connection', 'close']])}\r\n`,
      );
      expect(huge.statuses).toEqual([431]);
      const hugeId = await at('/', { client_id: 'x'.repeat(10_000), client_secret: 'y' });
      expect(hugeId.status).toBe(401);
    });

    it('framing tricks are refused before anything reaches the upstream', async () => {
      const cases = [
        head('POST /public HTTP/1.1', [['Host', host], ...credLines(broad), ['Content-Length', '4'], ['Transfer-Encoding', 'chunked']]) + '\r\n0\r\n\r\n',
        head('POST /public HTTP/1.1', [['Host', host], ...credLines(broad), ['Content-Length', '4'], ['Content-Length', '40']]) + '\r\nabcd',
        head('POST /public HTTP/1.1', [['Host', host], ...credLines(broad), ['Transfer-Encoding', 'xchunked']]) + '\r\n0\r\n\r\n',
        head('POST /public HTTP/1.1', [['Host', host], ...credLines(broad), ['Transfer-Encoding', 'chunked, identity']]) + '\r\n0\r\n\r\n',
        head('GET /public HTTP/1.1', [['Host', host], ...credLines(broad), ['X-A', 'b\r\n Host: ' + otherHost]]) + '\r\n',
        head('GET /public HTTP/1.1', [['Host', host], ...credLines(broad), ['Bad Name', 'x']]) + '\r\n',
        `GET /public HTTP/1.1\nHost: ${host}\n\n`,
      ];
      for (const bytes of cases) {
        const { statuses } = await raw(gwPort, bytes);
        expect([bytes.split('\r\n')[0], statuses[0]! >= 400 && statuses[0]! < 500]).toEqual([bytes.split('\r\n')[0], true]);
      }
      expect(records.length).toBe(mark);
    });
  });

  // The next ones depend on the upstream side of the gateway (src/gateway/proxy.ts, issue 10
  // items 1, 3 and 5).
  describe('the upstream connection (items 1, 3, 5)', () => {
    it('X-Forwarded-Host and X-Forwarded-Proto reach the upstream as the gateway set them (item 3)', async () => {
      const res = await at('/whoami', broad, host, { 'x-forwarded-host': otherHost, 'x-forwarded-proto': 'https', 'x-forwarded-for': '203.0.113.9' });
      expect(res.status).toBe(200);
      const seen = records.at(-1)!;
      expect(seen.headers['x-forwarded-host']).toBe(host);
      expect(seen.headers['x-forwarded-proto']).toBe('http');
      // Not behind a trusted proxy (GATEHOUSE_TRUST_PROXY unset): the client's own value is replaced.
      expect(seen.headers['x-forwarded-for']).toBe('127.0.0.1');
    });

    it("a client's Cloudflare headers (Cf-Access-Authenticated-User-Email, CF-Connecting-IP, CF-Visitor…) never reach the upstream", async () => {
      const forged = {
        'cf-access-authenticated-user-email': 'admin@corp.example',
        'cf-connecting-ip': '10.9.9.9',
        'true-client-ip': '10.9.9.9',
        'cf-visitor': '{"scheme":"https"}',
        'cf-ipcountry': 'ZZ',
      };
      expect((await at('/public', broad, host, forged)).status).toBe(200);
      const seen = records.at(-1)!;
      expect(
        Object.keys(seen.headers)
          .filter((k) => k.startsWith('cf-') || k === 'true-client-ip')
          .sort(),
      ).toEqual(['cf-access-jwt-assertion', 'cf-ray']);
    });

    it('underscore spellings of identity and forwarding headers never reach the upstream', async () => {
      const forged = ['cf_access_jwt_assertion', 'X_Forwarded_Host', 'x_forwarded_for', 'x_gatehouse_app_id', 'x_original_url', 'cf_access_client_secret'];
      const bytes =
        head('GET /public HTTP/1.1', [
          ['Host', host],
          ...credLines(broad),
          ...forged.map((n): [string, string] => [n, otherHost]),
          ['x_custom', 'kept'],
          ['Connection', 'close'],
        ]) + '\r\n';
      expect((await raw(gwPort, bytes)).statuses).toEqual([200]);
      const seen = records.at(-1)!;
      expect(Object.keys(seen.headers).filter((k) => k.includes('_'))).toEqual(['x_custom']);
      expect(JSON.stringify(seen.headers)).not.toContain(otherHost);
    });

    it('a GET with a body goes upstream with Connection: close, on a connection no other request follows (CL.0 origins)', async () => {
      const smuggled = head('GET /admin/users HTTP/1.1', [['Host', host]]) + '\r\n';
      const bytes = head('GET /public HTTP/1.1', [['Host', host], ...credLines(broad), ['Content-Length', String(smuggled.length)]]) + `\r\n${smuggled}`;
      const { statuses } = await raw(
        gwPort,
        bytes + head('GET /public/next HTTP/1.1', [['Host', host], ...credLines(broad), ['Connection', 'close']]) + '\r\n',
      );
      expect(statuses).toEqual([200, 200]);
      const got = records.slice(mark);
      expect(got.map((r) => [r.url, r.headers.connection, r.body])).toEqual([
        ['/public', 'close', smuggled],
        ['/public/next', undefined, ''],
      ]);
    });

    it('a body that Connection tries to unframe is never parsed as a request of its own (item 1)', async () => {
      const smuggled = head('GET /admin/users HTTP/1.1', [['Host', host]]) + '\r\n';
      const bytes =
        head('POST /public HTTP/1.1', [
          ['Host', host],
          ...credLines(broad),
          ['Connection', 'keep-alive, Content-Length, Host'],
          ['Content-Length', String(smuggled.length)],
        ]) + `\r\n${smuggled}`;
      const { statuses } = await raw(gwPort, bytes + head('GET /public HTTP/1.1', [['Host', host], ...credLines(broad), ['Connection', 'close']]) + '\r\n');
      expect(statuses.every((s) => s < 500)).toBe(true);
      const urls = records.slice(mark).map((r) => `${r.method} ${r.url}`);
      expect(urls.filter((u) => u.includes('/admin'))).toEqual([]);
      expect(records.slice(mark).find((r) => r.method === 'POST')?.body ?? smuggled).toBe(smuggled);
    });

    it('one connection pipelining 1,100 slow requests holds one upstream connection: another token is still served', async () => {
      // The review's finding: Node parses pipelined requests ahead, and each took an upstream
      // connection at once, filling the origin's limit (512) and its queue: 503 for everyone else.
      const slow = `${head('GET /slow HTTP/1.1', [['Host', host], ...credLines(broad)])}\r\n`;
      const client = net.connect(gwPort, '127.0.0.1');
      let text = '';
      client.on('data', (d: Buffer) => (text += d.toString('latin1')));
      client.on('error', () => undefined);
      upstreamConnections.most = upstreamConnections.open;
      const before = upstreamConnections.open;
      client.write(slow.repeat(1100));
      await expectEventually(() => expect(heldSlow).toHaveLength(1));
      await new Promise((r) => setTimeout(r, 300));
      expect(heldSlow).toHaveLength(1);
      const other = await at('/admin/ready', admin);
      expect([other.status, other.body]).toEqual([200, 'upstream GET /admin/ready']);
      // The next one goes up once the first is answered.
      heldSlow.shift()!();
      await expectEventually(() => expect(heldSlow).toHaveLength(1));
      expect(text.match(/HTTP\/1\.1 \d{3} /g)).toEqual(['HTTP/1.1 200 ']);
      // The client goes away: the one in flight is abandoned, the 1,098 others never go up.
      client.destroy();
      await new Promise((r) => setTimeout(r, 300));
      heldSlow.splice(0).forEach((answer) => answer());
      expect(records.slice(mark).filter((r) => r.url === '/slow')).toHaveLength(2);
      // The pipelining client never held more than one upstream connection (the other token's
      // request took at most one more).
      expect(upstreamConnections.most - before).toBeLessThanOrEqual(2);
    });

    it('Upgrade: h2c never gets a raw tunnel (item 5); a WebSocket upgrade is judged like any request', async () => {
      const h2c = await raw(
        gwPort,
        `${head('GET /public HTTP/1.1', [['Host', host], ...credLines(broad), ['Connection', 'Upgrade, HTTP2-Settings, close'], ['Upgrade', 'h2c'], ['HTTP2-Settings', 'AAMAAABkAARAAAAAAAIAAAAA']])}\r\nPRI * HTTP/2.0\r\n\r\nSM\r\n\r\n`,
      );
      expect(h2c.text).not.toMatch(/HTTP\/1\.1 101/);
      // Refused, or forwarded as a plain request: the upstream never sees an upgrade to h2c.
      expect(records.slice(mark).filter((r) => r.upgrade || r.headers.upgrade !== undefined || r.headers['http2-settings'] !== undefined)).toEqual([]);
      // WebSocket upgrades go through the same path judgement.
      const ws = (path: string) =>
        raw(
          gwPort,
          `${head(`GET ${path} HTTP/1.1`, [['Host', host], ...credLines(broad), ['Connection', 'Upgrade'], ['Upgrade', 'websocket'], ['Sec-WebSocket-Version', '13'], ['Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25jZQ==']])}\r\n`,
        );
      expect((await ws('/Admin/socket')).statuses).toEqual([403]);
      expect((await ws('/x/%2e%2e/admin/socket')).statuses).toEqual([403]);
      expect((await ws('/%2e%2e/socket')).statuses).toEqual([400]);
    });
  });

  it('public health says the status only', async () => {
    expect(JSON.parse((await request(gwPort, host, '/cdn-cgi/access/health')).body)).toEqual({ status: 'ok' });
  });
});
