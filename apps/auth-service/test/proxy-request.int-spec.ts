import crypto from 'node:crypto';
import http from 'node:http';
import {
  JWT,
  RawUpstream,
  json,
  newPool,
  ok,
  rawClient,
  request,
  runCleanups,
  sha256,
  startFront,
  startHttpUpstream,
  valuesOf,
  type Reply,
} from './proxy-harness.js';

/*
 * UpstreamPool (src/gateway/proxy.ts): the request the upstream is sent (target, headers, bodies).
 * Shared fixtures: ./proxy-harness.ts.
 */

afterEach(runCleanups);

describe('UpstreamPool: the forwarded request', () => {
  it('keeps method, base path and query; strips credentials, forged identity, hop-by-hop and Connection-listed headers; asserts the JWT', async () => {
    const up = await RawUpstream.start((r) => void r.socket.write(ok('fine')));
    const pool = newPool();
    const front = await startFront(pool, `${up.url}/base/`, { singleHeader: 'X-App-Key' });
    const reply = await request(front, {
      method: 'DELETE',
      path: '/items/7?x=1&y=%2F',
      headers: {
        host: 'app.example.test',
        'cf-access-client-id': 'abc.access',
        'cf-access-client-secret': 'the-secret',
        'cf-access-jwt-assertion': 'forged.jwt.value',
        'x-gatehouse-token-id': 'forged',
        'x-gatehouse-token-name': 'forged',
        'x-gatehouse-client-id': 'forged',
        'x-gatehouse-app-id': 'forged',
        'x-app-key': 'abc.access:the-secret',
        connection: 'keep-alive, X-Listed-Hop',
        'x-listed-hop': 'must go',
        'keep-alive': 'timeout=5',
        'proxy-authorization': 'Basic Zm9vOmJhcg==',
        'proxy-connection': 'keep-alive',
        te: 'trailers',
        'x-forwarded-for': ['203.0.113.1', '203.0.113.2'],
        'x-custom': 'kept as is',
        accept: 'application/json',
      },
    });
    expect(reply.status).toBe(200);
    expect(reply.body.toString()).toBe('fine');
    expect(up.requests).toHaveLength(1);
    const got = up.requests[0]!;
    expect(got.head.split('\r\n')[0]).toBe('DELETE /base/items/7?x=1&y=%2F HTTP/1.1');
    const names = got.headers.map(([k]) => k);
    for (const gone of [
      'cf-access-client-id',
      'cf-access-client-secret',
      'x-gatehouse-token-id',
      'x-gatehouse-token-name',
      'x-gatehouse-client-id',
      'x-gatehouse-app-id',
      'x-app-key',
      'connection',
      'x-listed-hop',
      'keep-alive',
      'proxy-authorization',
      'proxy-connection',
      'te',
      'trailer',
      'transfer-encoding',
    ]) {
      expect(names).not.toContain(gone);
    }
    const values = (name: string) => got.headers.filter(([k]) => k === name).map(([, v]) => v);
    expect(values('cf-access-jwt-assertion')).toEqual([JWT]);
    // Not behind a trusted proxy: the client's X-Forwarded-For is replaced by its address.
    expect(values('x-forwarded-for')).toEqual(['127.0.0.1']);
    expect(values('host')).toEqual(['app.example.test']);
    expect(values('x-forwarded-host')).toEqual(['app.example.test']);
    expect(values('x-forwarded-proto')).toEqual(['http']);
    expect(values('x-custom')).toEqual(['kept as is']);
    expect(values('accept')).toEqual(['application/json']);
    expect(got.head).not.toContain('the-secret');
    expect(got.head).not.toContain('forged');
  });

  it('drops every Cloudflare header a client sends (origins moved from Cloudflare trust them: it sets or overwrites them)', async () => {
    const up = await RawUpstream.start((r) => void r.socket.write(ok('fine')));
    const front = await startFront(newPool({ trustProxy: true }), up.url);
    const forged = {
      host: 'app.example.test',
      'cf-access-authenticated-user-email': 'admin@corp.example',
      'cf-access-token': 'forged.jwt.value',
      'cf-connecting-ip': '10.0.0.1',
      'cf-connecting-ipv6': '2001:db8::1',
      'true-client-ip': '10.0.0.1',
      'cf-visitor': '{"scheme":"https"}',
      'cf-ipcountry': 'US',
      'cf-worker': 'forged.example',
      cf_connecting_ip: '10.0.0.1',
      'x-custom': 'kept',
    };
    expect((await request(front, { headers: forged })).status).toBe(200);
    const got = up.requests[0]!;
    expect(got.headers.map(([k]) => k).filter((k) => /^cf[-_]|^true-client-ip$/.test(k))).toEqual(['cf-access-jwt-assertion']);
    expect(valuesOf(got, 'cf-access-jwt-assertion')).toEqual([JWT]);
    expect(valuesOf(got, 'x-custom')).toEqual(['kept']);
  });

  it('drops the underscore spellings of every header it strips or sets (CGI, WSGI and Rack read `X_Forwarded_Host` as `X-Forwarded-Host`)', async () => {
    const up = await RawUpstream.start((r) => void r.socket.write(ok('fine')));
    const front = await startFront(newPool({ trustProxy: true }), up.url, { singleHeader: 'X-App-Key' });
    const forged = [
      'cf_access_jwt_assertion',
      'Cf_Access_Client_Id',
      'cf_access_client_secret',
      'x_gatehouse_token_id',
      'X_Gatehouse_App_Id',
      'x_app_key',
      'x_forwarded_for',
      'X_Forwarded_Host',
      'x_forwarded_proto',
      'x_forwarded-prefix',
      'x_real_ip',
      'x_original_url',
      'X_Rewrite_Url',
      'cf_ray',
      'content_length',
      'transfer_encoding',
      'proxy_authorization',
      'keep_alive',
    ];
    const text = await rawClient(
      front,
      `GET /x HTTP/1.1\r\nHost: app.example.test\r\n${forged.map((n) => `${n}: forged\r\n`).join('')}x_custom_header: kept\r\nConnection: close\r\n\r\n`,
    );
    expect(text.startsWith('HTTP/1.1 200 ')).toBe(true);
    const got = up.requests[0]!;
    expect(got.headers.filter(([k]) => k.includes('_'))).toEqual([['x_custom_header', 'kept']]);
    expect(got.head).not.toContain('forged');
    expect(valuesOf(got, 'x-forwarded-for')).toEqual(['127.0.0.1']);
    expect(valuesOf(got, 'x-forwarded-proto')).toEqual(['http']);
    expect(valuesOf(got, 'cf-access-jwt-assertion')).toEqual([JWT]);
  });

  it('maps paths under a base without a trailing slash, and at the root unchanged', async () => {
    const up = await RawUpstream.start((r) => void r.socket.write(ok(r.target)));
    const pool = newPool();
    const based = await startFront(pool, `${up.url}/svc`);
    const root = await startFront(pool, `${up.url}/`);
    expect((await request(based, { path: '/a/b?c=d' })).body.toString()).toBe('/svc/a/b?c=d');
    expect((await request(root, { path: '/a/b?c=d' })).body.toString()).toBe('/a/b?c=d');
    expect((await request(root, { path: '/' })).body.toString()).toBe('/');
  });

  it('rejects a request target that is not a path with 400, without contacting the upstream', async () => {
    const up = await RawUpstream.start((r) => void r.socket.write(ok('no')));
    const pool = newPool();
    const front = await startFront(pool, up.url);
    const text = await rawClient(front, 'GET http://x/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(text.startsWith('HTTP/1.1 400 ')).toBe(true);
    const body = JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4));
    expect(body).toEqual({ error: 'bad_request', reason: 'request_target_not_a_path' });
    const star = await rawClient(front, 'OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(star.startsWith('HTTP/1.1 400 ')).toBe(true);
    expect(up.conns).toHaveLength(0);
  });

  it('rejects two Host headers with 400 (the app is chosen by one, an upstream might route by the other)', async () => {
    const up = await RawUpstream.start((r) => void r.socket.write(ok('no')));
    const pool = newPool();
    const front = await startFront(pool, up.url);
    const text = await rawClient(front, 'GET / HTTP/1.1\r\nHost: app.example.com\r\nHost: admin.internal\r\nConnection: close\r\n\r\n');
    expect(text.startsWith('HTTP/1.1 400 ')).toBe(true);
    expect(JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4))).toEqual({ error: 'bad_request', reason: 'duplicate_host_header' });
    expect(up.conns).toHaveLength(0);
  });
});

describe('UpstreamPool: forwarding headers', () => {
  const claimed = {
    host: 'app.example.test',
    'x-forwarded-for': ['203.0.113.1', '203.0.113.2'],
    'x-forwarded-host': 'other-app.example.test',
    'x-forwarded-proto': 'https',
    'x-forwarded-port': '8443',
    'x-forwarded-prefix': '/admin',
    'x-forwarded-server': 'evil',
    forwarded: 'for=203.0.113.9;host=other-app.example.test;proto=https',
    'x-real-ip': '203.0.113.9',
    'x-original-url': '/admin/users',
    'x-rewrite-url': '/admin/users',
  };
  const forwardingOf = (r: { headers: Array<[string, string]> }) =>
    Object.fromEntries(
      [
        'x-forwarded-for',
        'x-forwarded-host',
        'x-forwarded-proto',
        'x-forwarded-port',
        'x-forwarded-prefix',
        'x-forwarded-server',
        'forwarded',
        'x-real-ip',
        'x-original-url',
        'x-rewrite-url',
      ].map((n) => [n, valuesOf(r, n)]),
    );

  it("by default: the client's claims are dropped; For is its address, Host its Host, Proto http", async () => {
    const up = await RawUpstream.start((r) => void r.socket.write(ok('fine')));
    const front = await startFront(newPool(), up.url);
    expect((await request(front, { headers: claimed })).status).toBe(200);
    expect(forwardingOf(up.requests[0]!)).toEqual({
      ...Object.fromEntries(Object.keys(forwardingOf(up.requests[0]!)).map((n) => [n, []])),
      'x-forwarded-for': ['127.0.0.1'],
      'x-forwarded-host': ['app.example.test'],
      'x-forwarded-proto': ['http'],
    });
  });

  it("behind a trusted proxy: For is appended to, the proxy's Proto kept when http or https; Host is still the request's", async () => {
    const up = await RawUpstream.start((r) => void r.socket.write(ok('fine')));
    const front = await startFront(newPool({ trustProxy: true }), up.url);
    expect((await request(front, { headers: claimed })).status).toBe(200);
    expect(forwardingOf(up.requests[0]!)).toEqual({
      ...Object.fromEntries(Object.keys(forwardingOf(up.requests[0]!)).map((n) => [n, []])),
      'x-forwarded-for': ['203.0.113.1, 203.0.113.2, 127.0.0.1'],
      'x-forwarded-host': ['app.example.test'],
      'x-forwarded-proto': ['https'],
    });
    expect((await request(front, { headers: { 'x-forwarded-proto': 'javascript' } })).status).toBe(200);
    expect(valuesOf(up.requests[1]!, 'x-forwarded-proto')).toEqual(['http']);
    expect(valuesOf(up.requests[1]!, 'x-forwarded-for')).toEqual(['127.0.0.1']);
  });
});

describe('UpstreamPool: request bodies', () => {
  /** Answers with what it received: the body's length and hash, and its framing. */
  const echo: http.RequestListener = (req, res) => {
    const hash = crypto.createHash('sha256');
    let length = 0;
    req.on('data', (d: Buffer) => {
      hash.update(d);
      length += d.length;
    });
    req.on('end', () => {
      const text = JSON.stringify({
        method: req.method,
        length,
        sha256: hash.digest('hex'),
        te: req.headers['transfer-encoding'] ?? null,
        cl: req.headers['content-length'] ?? null,
      });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    });
  };

  it('passes a Content-Length request body through intact', async () => {
    const port = await startHttpUpstream(echo);
    const pool = newPool();
    const front = await startFront(pool, `http://127.0.0.1:${port}/`);
    const body = Buffer.from('{"small":"body"}');
    const reply = await request(front, { method: 'PUT', body });
    expect(json(reply)).toEqual({ method: 'PUT', length: body.length, sha256: sha256(body), te: null, cl: String(body.length) });
  });

  it('passes a 1 MB Content-Length request body through intact', async () => {
    const port = await startHttpUpstream(echo);
    const pool = newPool();
    const front = await startFront(pool, `http://127.0.0.1:${port}/`);
    const body = crypto.randomBytes(1024 * 1024);
    const reply = await request(front, { method: 'POST', body });
    expect(json(reply)).toEqual({ method: 'POST', length: body.length, sha256: sha256(body), te: null, cl: String(body.length) });
  });

  it('passes a chunked request body through as chunked, intact (small, raw upstream)', async () => {
    const up = await RawUpstream.start((r) => void r.socket.write(ok(`${r.body.length}`)));
    const pool = newPool();
    const front = await startFront(pool, up.url);
    const chunks = ['first,', 'second,', 'third'].map((s) => Buffer.from(s));
    const reply = await request(front, { method: 'POST', chunks });
    expect(reply.body.toString()).toBe('18');
    const got = up.requests[0]!;
    expect(got.headers.filter(([k]) => k === 'transfer-encoding')).toEqual([['transfer-encoding', 'chunked']]);
    expect(got.headers.find(([k]) => k === 'content-length')).toBeUndefined();
    expect(got.body.toString()).toBe('first,second,third');
  });

  it('answers Expect: 100-continue itself and sends the upstream the body without the Expect header', async () => {
    const up = await RawUpstream.start((r) => void r.socket.write(ok(r.body.toString())));
    const pool = newPool();
    const front = await startFront(pool, up.url);
    const reply = await new Promise<Reply>((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port: front, method: 'POST', path: '/', agent: false, headers: { expect: '100-continue', 'content-length': 7 } },
        (res) => {
          const parts: Buffer[] = [];
          res.on('data', (d: Buffer) => parts.push(d));
          res.on('end', () =>
            resolve({ status: res.statusCode!, headers: res.headers, rawHeaders: res.rawHeaders, body: Buffer.concat(parts), informational: [] }),
          );
        },
      );
      req.on('continue', () => req.end('go body'));
      req.on('error', reject);
    });
    expect(reply.status).toBe(200);
    expect(reply.body.toString()).toBe('go body');
    expect(up.requests[0]!.headers.map(([k]) => k)).not.toContain('expect');
  });

  it('passes a 1 MB chunked request body through intact', async () => {
    const port = await startHttpUpstream(echo);
    const pool = newPool();
    const front = await startFront(pool, `http://127.0.0.1:${port}/`);
    const body = crypto.randomBytes(1024 * 1024);
    const chunks: Buffer[] = [];
    for (let at = 0; at < body.length; at += 64 * 1024) chunks.push(body.subarray(at, at + 64 * 1024));
    const reply = await request(front, { method: 'POST', chunks });
    expect(reply.status).toBe(200);
    expect(json(reply)).toEqual({ method: 'POST', length: body.length, sha256: sha256(body), te: 'chunked', cl: null });
  });
});
