import crypto from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { selfSignedCertificate } from '../src/keys/x509.js';
import { UpstreamPool, type ProxyTarget, type UpstreamPoolOptions } from '../src/gateway/proxy.js';

/*
 * UpstreamPool (src/gateway/proxy.ts) over real loopback sockets: a Node http.Server in front (as
 * in the gateway), and upstreams that are either Node http servers or raw TCP servers writing
 * byte-exact responses.
 */

type Cleanup = () => void | Promise<void>;
let cleanups: Cleanup[] = [];

afterEach(async () => {
  const list = cleanups.reverse();
  cleanups = [];
  for (const c of list) await c();
});

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function waitFor(cond: () => boolean, what = 'condition', timeoutMs = 2000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return (server.address() as net.AddressInfo).port;
}

function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

function newPool(options: UpstreamPoolOptions = {}): UpstreamPool {
  const pool = new UpstreamPool({ responseTimeoutMs: 2000, ...options });
  cleanups.push(() => pool.close());
  return pool;
}

const JWT = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ0ZXN0In0.c2ln';

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return void res.destroy();
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** The gateway's front: every request is forwarded with `target`. */
async function startFront(pool: UpstreamPool, upstream: string, extra: Partial<ProxyTarget> = {}): Promise<number> {
  const target: Omit<ProxyTarget, 'path'> = {
    upstream: new URL(upstream),
    jwt: JWT,
    singleHeader: null,
    setCookie: null,
    clientIp: '198.51.100.7',
    onError: sendJson,
    ...extra,
  };
  const server = http.createServer((req, res) => pool.forward(req, res, { path: req.url ?? '/', ...target }));
  const port = await listen(server);
  cleanups.push(async () => {
    server.closeAllConnections();
    await closeServer(server);
  });
  return port;
}

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  rawHeaders: string[];
  body: Buffer;
  informational: number[];
}

interface ClientRequest {
  method?: string;
  path?: string;
  headers?: http.OutgoingHttpHeaders;
  body?: string | Buffer;
  /** Written one by one without a Content-Length: the client sends Transfer-Encoding: chunked. */
  chunks?: Buffer[];
}

function request(port: number, o: ClientRequest = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const informational: number[] = [];
    const headers = { ...o.headers };
    if (o.body !== undefined && headers['content-length'] === undefined) headers['content-length'] = Buffer.byteLength(o.body);
    const req = http.request({ host: '127.0.0.1', port, method: o.method ?? 'GET', path: o.path ?? '/', headers, agent: false }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, rawHeaders: res.rawHeaders, body: Buffer.concat(parts), informational }));
      res.on('error', reject);
    });
    req.on('information', (info) => informational.push(info.statusCode));
    req.on('error', reject);
    if (o.chunks) {
      for (const c of o.chunks) req.write(c);
      req.end();
    } else {
      req.end(o.body);
    }
  });
}

const json = (r: Reply): unknown => JSON.parse(r.body.toString('utf8'));

/** Writes raw bytes to the front and collects everything it answers until it closes. */
function rawClient(port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(bytes, 'latin1'));
    const parts: Buffer[] = [];
    s.on('data', (d: Buffer) => parts.push(d));
    s.on('error', reject);
    s.on('close', () => resolve(Buffer.concat(parts).toString('latin1')));
  });
}

// ---------------------------------------------------------------------------------------------
// A raw upstream: parses requests itself, counts connections, and answers with exact bytes.

interface RawRequest {
  method: string;
  target: string;
  /** The request line and header lines exactly as received. */
  head: string;
  /** [lower-cased name, value] in the order received. */
  headers: Array<[string, string]>;
  body: Buffer;
  /** 1-based connection number at the upstream, and request number on that connection. */
  conn: number;
  n: number;
  socket: net.Socket;
}

interface RawConn {
  socket: net.Socket;
  closed: boolean;
  requests: number;
}

function decodeChunked(buf: Buffer): { body: Buffer; consumed: number } | null {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = buf.indexOf('\r\n', at);
    if (eol < 0) return null;
    const size = parseInt(buf.toString('latin1', at, eol).split(';')[0]!, 16);
    at = eol + 2;
    if (size === 0) {
      const end = buf.indexOf('\r\n\r\n', at - 2);
      if (end < 0) return null;
      return { body: Buffer.concat(parts), consumed: end + 4 };
    }
    if (buf.length < at + size + 2) return null;
    parts.push(buf.subarray(at, at + size));
    at += size + 2;
  }
}

class RawUpstream {
  readonly conns: RawConn[] = [];
  readonly requests: RawRequest[] = [];
  port = 0;
  private readonly server: net.Server;

  constructor(private readonly onRequest: (r: RawRequest) => void | Promise<void>) {
    this.server = net.createServer((socket) => {
      const conn: RawConn = { socket, closed: false, requests: 0 };
      this.conns.push(conn);
      const connNo = this.conns.length;
      let buf: Buffer = Buffer.alloc(0);
      socket.on('error', () => {});
      socket.on('close', () => (conn.closed = true));
      socket.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        for (;;) {
          const end = buf.indexOf('\r\n\r\n');
          if (end < 0) return;
          const head = buf.toString('latin1', 0, end);
          const lines = head.split('\r\n');
          const [method, target] = lines[0]!.split(' ') as [string, string];
          const headers = lines.slice(1).map((l): [string, string] => {
            const i = l.indexOf(':');
            return [l.slice(0, i).toLowerCase(), l.slice(i + 1).trim()];
          });
          const rest = buf.subarray(end + 4);
          const te = headers.find(([k]) => k === 'transfer-encoding');
          const cl = headers.find(([k]) => k === 'content-length');
          let body: Buffer = Buffer.alloc(0);
          let consumed = 0;
          if (te) {
            const r = decodeChunked(rest);
            if (!r) return;
            ({ body, consumed } = r);
          } else if (cl) {
            const len = Number(cl[1]);
            if (rest.length < len) return;
            body = rest.subarray(0, len);
            consumed = len;
          }
          buf = rest.subarray(consumed);
          conn.requests++;
          const r: RawRequest = { method, target, head, headers, body, conn: connNo, n: conn.requests, socket };
          this.requests.push(r);
          void this.onRequest(r);
        }
      });
    });
  }

  static async start(onRequest: (r: RawRequest) => void | Promise<void>): Promise<RawUpstream> {
    const u = new RawUpstream(onRequest);
    u.port = await listen(u.server);
    cleanups.push(async () => {
      for (const c of u.conns) c.socket.destroy();
      await closeServer(u.server);
    });
    return u;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }
}

/** Writes the pieces as separate TCP writes (a short pause between them so they arrive apart). */
async function writePieces(s: net.Socket, pieces: Array<string | Buffer>): Promise<void> {
  s.setNoDelay(true);
  for (let i = 0; i < pieces.length; i++) {
    if (i > 0) await sleep(3);
    if (s.destroyed) return;
    const p = pieces[i]!;
    s.write(typeof p === 'string' ? Buffer.from(p, 'latin1') : p);
  }
}

const ok = (body: string, extra = ''): string => `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n${extra}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;

/** A Node http upstream (for the large bodies). */
async function startHttpUpstream(handler: http.RequestListener): Promise<number> {
  const server = http.createServer(handler);
  const port = await listen(server);
  cleanups.push(async () => {
    server.closeAllConnections();
    await closeServer(server);
  });
  return port;
}

const sha256 = (b: Buffer): string => crypto.createHash('sha256').update(b).digest('hex');

// ---------------------------------------------------------------------------------------------

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
    expect(values('x-forwarded-for')).toEqual(['203.0.113.1, 203.0.113.2, 198.51.100.7']);
    expect(values('host')).toEqual(['app.example.test']);
    expect(values('x-forwarded-host')).toEqual(['app.example.test']);
    expect(values('x-forwarded-proto')).toEqual(['http']);
    expect(values('x-custom')).toEqual(['kept as is']);
    expect(values('accept')).toEqual(['application/json']);
    expect(got.head).not.toContain('the-secret');
    expect(got.head).not.toContain('forged');
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

describe('UpstreamPool: the relayed response', () => {
  it('relays status and headers, keeps upstream cookies and appends the gateway cookie, drops hop-by-hop headers', async () => {
    const up = await RawUpstream.start((r) =>
      writePieces(r.socket, [
        'HTTP/1.1 201 Created\r\n' +
          'Content-Type: text/plain\r\n' +
          'Set-Cookie: a=1; Path=/\r\n' +
          'Set-Cookie: b=2; HttpOnly\r\n' +
          'Connection: keep-alive, X-Resp-Hop\r\n' +
          'X-Resp-Hop: secret\r\n' +
          'Keep-Alive: timeout=99\r\n' +
          'Proxy-Authenticate: Basic realm=x\r\n' +
          'Upgrade: h2c\r\n' +
          'Trailer: X-Sum\r\n' +
          'X-Kept: yes\r\n' +
          'Content-Length: 5\r\n\r\nhello',
      ]),
    );
    const pool = newPool();
    const front = await startFront(pool, up.url, { setCookie: 'CF_Authorization=tok; HttpOnly; Secure' });
    const reply = await request(front);
    expect(reply.status).toBe(201);
    expect(reply.body.toString()).toBe('hello');
    expect(reply.headers['set-cookie']).toEqual(['a=1; Path=/', 'b=2; HttpOnly', 'CF_Authorization=tok; HttpOnly; Secure']);
    expect(reply.headers['x-kept']).toBe('yes');
    expect(reply.headers['content-type']).toBe('text/plain');
    expect(reply.headers['content-length']).toBe('5');
    const rawNames = reply.rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
    for (const gone of ['x-resp-hop', 'proxy-authenticate', 'upgrade', 'trailer']) expect(rawNames).not.toContain(gone);
    expect(reply.rawHeaders).not.toContain('timeout=99');
  });

  it('relays a chunked body split at awkward points, with extensions and trailers, and reuses the connection', async () => {
    const letters = 'abcdefghijklmnopqrstuvwxyz';
    const up = await RawUpstream.start((r) =>
      r.n === 1
        ? writePieces(r.socket, [
            'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n5\r',
            '\nhel',
            'lo\r\n6;ext="1"\r\n wor',
            'ld\r',
            '\n1a\r\n' + letters,
            '\r\n0\r\nX-Sum: ab',
            'c\r\n',
            '\r\n',
          ])
        : void r.socket.write(ok('next')),
    );
    const pool = newPool();
    const front = await startFront(pool, up.url);
    const reply = await request(front);
    expect(reply.status).toBe(200);
    expect(reply.body.toString()).toBe(`hello world${letters}`);
    expect((await request(front)).body.toString()).toBe('next');
    expect(up.conns).toHaveLength(1);
  });

  it('relays a body delimited by the close, and does not reuse that connection', async () => {
    const up = await RawUpstream.start(async (r) => {
      if (r.conn === 1) {
        await writePieces(r.socket, ['HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil ', 'the ', 'end']);
        r.socket.end();
      } else r.socket.write(ok('fresh'));
    });
    const pool = newPool();
    const front = await startFront(pool, up.url);
    const reply = await request(front);
    expect(reply.status).toBe(200);
    expect(reply.body.toString()).toBe('until the end');
    expect((await request(front)).body.toString()).toBe('fresh');
    expect(up.conns).toHaveLength(2);
  });

  it('relays HEAD, 204 and 304 without waiting for a body, and keeps the connection', async () => {
    const up = await RawUpstream.start((r) => {
      if (r.method === 'HEAD') r.socket.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1234\r\n\r\n');
      else if (r.target === '/204') r.socket.write('HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n');
      else if (r.target === '/304') r.socket.write('HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\nContent-Length: 10\r\n\r\n');
      else r.socket.write(ok(`after ${r.n - 1}`));
    });
    const pool = newPool();
    const front = await startFront(pool, up.url);
    const head = await request(front, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe('1234');
    expect(head.body.length).toBe(0);
    const noContent = await request(front, { path: '/204' });
    expect(noContent.status).toBe(204);
    expect(noContent.headers['x-a']).toBe('1');
    expect(noContent.body.length).toBe(0);
    const notModified = await request(front, { path: '/304' });
    expect(notModified.status).toBe(304);
    expect(notModified.headers.etag).toBe('"v1"');
    expect(notModified.body.length).toBe(0);
    expect((await request(front)).body.toString()).toBe('after 3');
    expect(up.conns).toHaveLength(1);
  });

  it('skips interim 100 and 103 responses and relays the final one', async () => {
    const up = await RawUpstream.start((r) =>
      writePieces(r.socket, [
        'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Ear',
        'ly Hints\r\nLink: </style.css>; rel=preload\r\n\r\n',
        'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Final: 1\r\n\r\nfinal',
      ]),
    );
    const pool = newPool();
    const front = await startFront(pool, up.url);
    const reply = await request(front);
    expect(reply.informational).toEqual([]);
    expect(reply.status).toBe(200);
    expect(reply.headers['x-final']).toBe('1');
    expect(reply.headers.link).toBeUndefined();
    expect(reply.body.toString()).toBe('final');
    expect((await request(front)).status).toBe(200);
    expect(up.conns).toHaveLength(1);
  });
});

describe('UpstreamPool: keep-alive', () => {
  it('sends sequential requests over one upstream connection', async () => {
    const up = await RawUpstream.start((r) => void r.socket.write(ok(`#${r.n}`)));
    const pool = newPool();
    const front = await startFront(pool, up.url);
    for (let i = 1; i <= 5; i++) expect((await request(front)).body.toString()).toBe(`#${i}`);
    expect(up.conns).toHaveLength(1);
    expect(pool.idleCount()).toBe(1);
  });

  it.each([
    ['Connection: close', (body: string) => ok(body, 'Connection: close\r\n')],
    ['HTTP/1.0', (body: string) => `HTTP/1.0 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`],
  ])('does not reuse a connection after a %s response', async (_name, respond) => {
    const up = await RawUpstream.start((r) => void r.socket.write(respond(`conn ${r.conn}`)));
    const pool = newPool();
    const front = await startFront(pool, up.url);
    expect((await request(front)).body.toString()).toBe('conn 1');
    await waitFor(() => up.conns[0]!.closed, 'the pool to close the first connection');
    expect(pool.idleCount()).toBe(0);
    expect((await request(front)).body.toString()).toBe('conn 2');
  });

  it('drops a pooled connection that the upstream closes while idle', async () => {
    const up = await RawUpstream.start((r) => {
      r.socket.write(ok(`conn ${r.conn}`));
      if (r.conn === 1) r.socket.end();
    });
    const pool = newPool();
    const front = await startFront(pool, up.url);
    expect((await request(front)).body.toString()).toBe('conn 1');
    await waitFor(() => pool.idleCount() === 0, 'the closed connection to leave the pool');
    expect((await request(front)).body.toString()).toBe('conn 2');
  });

  it('closes an idle pooled connection after idleTimeoutMs', async () => {
    const up = await RawUpstream.start((r) => void r.socket.write(ok('x')));
    const pool = newPool({ idleTimeoutMs: 40 });
    const front = await startFront(pool, up.url);
    await request(front);
    expect(pool.idleCount()).toBe(1);
    await waitFor(() => up.conns[0]!.closed, 'the idle connection to be closed');
    expect(pool.idleCount()).toBe(0);
  });

  it("follows the upstream's Keep-Alive timeout hint: idles 1 s less than it, or not at all", async () => {
    const withHint = (hint: string) => `HTTP/1.1 200 OK\r\nKeep-Alive: ${hint}\r\nContent-Length: 1\r\n\r\nx`;
    const short = await RawUpstream.start((r) => void r.socket.write(withHint('timeout=1')));
    const pool = newPool({ idleTimeoutMs: 60_000 });
    const front = await startFront(pool, short.url);
    expect((await request(front)).status).toBe(200);
    await waitFor(() => short.conns[0]!.closed, 'a connection the upstream keeps only 1 s to be closed at once');
    expect(pool.idleCount()).toBe(0);

    const two = await RawUpstream.start((r) => void r.socket.write(withHint('max=100, timeout=2')));
    const front2 = await startFront(pool, two.url);
    const r = await request(front2);
    expect(r.status).toBe(200);
    expect(r.headers['keep-alive']).not.toBe('max=100, timeout=2'); // hop-by-hop: not relayed
    expect(pool.idleCount()).toBe(1);
    const t0 = Date.now();
    await waitFor(() => two.conns[0]!.closed, 'the pooled connection to be closed after ~1 s', 3000);
    expect(Date.now() - t0).toBeLessThan(2500); // well before the pool's own 60 s
    expect(pool.idleCount()).toBe(0);
  });

  it('keeps at most maxIdlePerOrigin idle connections', async () => {
    const up = await RawUpstream.start(async (r) => {
      await waitFor(() => up.requests.length === 3, 'three concurrent requests');
      r.socket.write(ok(r.target));
    });
    const pool = newPool({ maxIdlePerOrigin: 2 });
    const front = await startFront(pool, up.url);
    const replies = await Promise.all(['/a', '/b', '/c'].map((path) => request(front, { path })));
    expect(replies.map((r) => r.body.toString())).toEqual(['/a', '/b', '/c']);
    expect(up.conns).toHaveLength(3);
    await waitFor(() => up.conns.filter((c) => c.closed).length === 1, 'the surplus connection to be closed');
    expect(pool.idleCount()).toBe(2);
  });

  it('retries an idempotent GET once on a fresh connection when the reused one closes without answering', async () => {
    const up = await RawUpstream.start((r) => {
      if (r.conn === 1 && r.n === 2) return void r.socket.destroy();
      r.socket.write(ok(`conn ${r.conn} req ${r.n} ${r.target}`));
    });
    const pool = newPool();
    const front = await startFront(pool, up.url);
    expect((await request(front, { path: '/one' })).body.toString()).toBe('conn 1 req 1 /one');
    const second = await request(front, { path: '/two' });
    expect(second.status).toBe(200);
    expect(second.body.toString()).toBe('conn 2 req 1 /two');
    expect(up.requests.map((r) => [r.conn, r.n, r.method, r.target])).toEqual([
      [1, 1, 'GET', '/one'],
      [1, 2, 'GET', '/two'],
      [2, 1, 'GET', '/two'],
    ]);
  });

  it('answers 502 instead of replaying a POST with a body when the reused connection closes', async () => {
    const up = await RawUpstream.start((r) => {
      if (r.conn === 1 && r.n === 2) return void r.socket.destroy();
      r.socket.write(ok(`conn ${r.conn}`));
    });
    const pool = newPool();
    const front = await startFront(pool, up.url);
    expect((await request(front)).status).toBe(200);
    const post = await request(front, { method: 'POST', body: 'payload=1', headers: { 'content-type': 'text/plain' } });
    expect(post.status).toBe(502);
    expect(json(post)).toEqual({ error: 'bad_gateway', reason: 'upstream_unreachable' });
    expect(up.requests[1]!.body.toString()).toBe('payload=1');
    await sleep(30);
    expect(up.conns).toHaveLength(1);
    expect(up.requests).toHaveLength(2);
  });
});

describe('UpstreamPool: malformed upstream responses', () => {
  const cases: Array<[string, Array<string | Buffer>]> = [
    ['Content-Length and Transfer-Encoding', ['HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n']],
    ['two different Content-Lengths', ['HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!']],
    ['a Content-Length that is not a number', ['HTTP/1.1 200 OK\r\nContent-Length: 5x\r\n\r\nhello']],
    ['a bad chunk size', ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n']],
    ['a bad chunk size in a later write', ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n', '-5\r\nhello\r\n0\r\n\r\n']],
    ['an obs-fold header line', ['HTTP/1.1 200 OK\r\nX-Folded: first\r\n  continued\r\nContent-Length: 2\r\n\r\nok']],
    ['a bare LF in the head', ['HTTP/1.1 200 OK\r\nX-A: a\nX-B: b\r\nContent-Length: 2\r\n\r\nok']],
    ['a bare CR in the head', ['HTTP/1.1 200 OK\r\nX-A: a\rX-B: b\r\nContent-Length: 2\r\n\r\nok']],
    ['an invalid status line', ['HTTP/1.1 2000 OK\r\nContent-Length: 2\r\n\r\nok']],
    ['a status line of another protocol', ['ICY 200 OK\r\nContent-Length: 2\r\n\r\nok']],
    ['a header with NUL', [Buffer.from('HTTP/1.1 200 OK\r\nX-A: a\0b\r\nContent-Length: 2\r\n\r\nok', 'latin1')]],
    ['a header name with a space', ['HTTP/1.1 200 OK\r\nX A: b\r\nContent-Length: 2\r\n\r\nok']],
    ['a 101 protocol switch', ['HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n']],
  ];

  it.each(cases)('%s: 502 upstream_protocol_error, and the connection is not reused', async (_name, pieces) => {
    const up = await RawUpstream.start((r) => (r.conn === 1 ? writePieces(r.socket, pieces) : void r.socket.write(ok('good'))));
    const pool = newPool();
    const front = await startFront(pool, up.url);
    const bad = await request(front);
    expect(bad.status).toBe(502);
    expect(json(bad)).toEqual({ error: 'bad_gateway', reason: 'upstream_protocol_error' });
    await waitFor(() => up.conns[0]!.closed, 'the pool to close the connection');
    expect(pool.idleCount()).toBe(0);
    const good = await request(front);
    expect(good.status).toBe(200);
    expect(good.body.toString()).toBe('good');
    expect(up.conns).toHaveLength(2);
  });

  it.each([
    ['a bad chunk size', ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n', 'nope\r\n']],
    ['a chunk not followed by CRLF', ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloX\r\n0\r\n\r\n']],
    ['a short Content-Length body', ['HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello']],
  ])('%s after some of the body was relayed: the client response is aborted', async (name, pieces) => {
    const up = await RawUpstream.start(async (r) => {
      if (r.conn !== 1) return void r.socket.write(ok('good'));
      await writePieces(r.socket, pieces);
      if (name === 'a short Content-Length body') r.socket.end();
    });
    const pool = newPool();
    const front = await startFront(pool, up.url);
    await expect(request(front)).rejects.toThrow();
    await waitFor(() => up.conns[0]!.closed, 'the pool to close the connection');
    expect((await request(front)).body.toString()).toBe('good');
  });

  it.each([
    ['in the same write', ['HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nevil']],
    ['in the same write, after a chunked body', ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nevil']],
    ['in the same write, after a 204', ['HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nevil']],
    ['in a later write', ['HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok', 'HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nevil']],
  ])('bytes after a complete response (%s): the connection is not reused', async (_name, pieces) => {
    const up = await RawUpstream.start((r) => (r.conn === 1 ? writePieces(r.socket, pieces) : void r.socket.write(ok('good'))));
    const pool = newPool();
    const front = await startFront(pool, up.url);
    const first = await request(front);
    expect([200, 204]).toContain(first.status);
    if (first.status === 200) expect(first.body.toString()).toBe('ok');
    await waitFor(() => up.conns[0]!.closed, 'the pool to close the connection');
    const next = await request(front);
    expect(next.status).toBe(200);
    expect(next.body.toString()).toBe('good');
    expect(up.conns).toHaveLength(2);
    expect(up.requests.map((r) => r.conn)).toEqual([1, 2]);
  });
});

describe('UpstreamPool: unreachable and slow upstreams', () => {
  it('answers 502 upstream_unreachable for a closed port', async () => {
    const probe = net.createServer();
    const port = await listen(probe);
    await closeServer(probe);
    const pool = newPool();
    const front = await startFront(pool, `http://127.0.0.1:${port}/`);
    const reply = await request(front);
    expect(reply.status).toBe(502);
    expect(json(reply)).toEqual({ error: 'bad_gateway', reason: 'upstream_unreachable' });
    expect(pool.idleCount()).toBe(0);
  });

  it('answers 504 upstream_timeout when the upstream never answers, and closes that connection', async () => {
    const up = await RawUpstream.start(() => {});
    const pool = newPool({ responseTimeoutMs: 150 });
    const front = await startFront(pool, up.url);
    const started = Date.now();
    const reply = await request(front);
    expect(reply.status).toBe(504);
    expect(json(reply)).toEqual({ error: 'gateway_timeout', reason: 'upstream_timeout' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    await waitFor(() => up.conns[0]!.closed, 'the pool to close the connection');
    expect(pool.idleCount()).toBe(0);
  });

  it('cuts the client response when the upstream stalls mid-body, and closes that connection', async () => {
    const up = await RawUpstream.start((r) => void r.socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part'));
    const pool = newPool({ responseTimeoutMs: 100 });
    const front = await startFront(pool, up.url);
    await expect(request(front)).rejects.toThrow();
    await waitFor(() => up.conns[0]!.closed, 'the pool to close the connection');
    expect(pool.idleCount()).toBe(0);
  });

  it('answers 502 when the upstream closes before a complete response on a fresh connection', async () => {
    const up = await RawUpstream.start((r) => {
      r.socket.write('HTTP/1.1 200 OK\r\nContent-Le');
      r.socket.end();
    });
    const pool = newPool();
    const front = await startFront(pool, up.url);
    const reply = await request(front);
    expect(reply.status).toBe(502);
    expect(json(reply)).toEqual({ error: 'bad_gateway', reason: 'upstream_unreachable' });
    expect(up.conns).toHaveLength(1);
  });
});

describe('UpstreamPool: bodies', () => {
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
          res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, rawHeaders: res.rawHeaders, body: Buffer.concat(parts), informational: [] }));
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

  it('streams a 5 MB chunked response intact, and reuses the connection after it', async () => {
    const big = crypto.randomBytes(5 * 1024 * 1024);
    const port = await startHttpUpstream((req, res) => {
      if (req.url !== '/big') return void res.end('small');
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      let at = 0;
      const more = (): void => {
        while (at < big.length) {
          const piece = big.subarray(at, at + 100_000);
          at += piece.length;
          if (!res.write(piece)) return void res.once('drain', more);
        }
        res.end();
      };
      more();
    });
    const pool = newPool();
    const front = await startFront(pool, `http://127.0.0.1:${port}/`);
    const reply = await request(front, { path: '/big' });
    expect(reply.status).toBe(200);
    expect(reply.body.length).toBe(big.length);
    expect(sha256(reply.body)).toBe(sha256(big));
    expect(pool.idleCount()).toBe(1);
    expect((await request(front)).body.toString()).toBe('small');
  });

  it('returns a connection paused by client backpressure to the pool in a usable state', async () => {
    // Two requests pipelined on one client connection: the second response is buffered by Node
    // until the first is done, so its writes report backpressure and the proxy pauses that
    // upstream socket; the whole chunked response (and its end) arrives in that same read.
    const chunks = Array.from({ length: 24 }, (_, i) => `400\r\n${String.fromCharCode(97 + i).repeat(1024)}\r\n`).join('');
    const up = await RawUpstream.start(async (r) => {
      if (r.target === '/slow') {
        await waitFor(() => up.requests.some((q) => q.target === '/fast'), 'the pipelined request');
        await sleep(20);
        r.socket.write(ok('slow', 'Connection: close\r\n'));
      } else if (r.target === '/fast') {
        r.socket.write(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${chunks}0\r\n\r\n`);
      } else r.socket.write(ok(`after on ${r.conn}`));
    });
    const pool = newPool({ responseTimeoutMs: 500 });
    const front = await startFront(pool, up.url);
    const text = await rawClient(front, 'GET /slow HTTP/1.1\r\nHost: x\r\n\r\nGET /fast HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(text.match(/HTTP\/1\.1 200 OK/g)).toHaveLength(2);
    const fastConn = up.requests.find((q) => q.target === '/fast')!.conn;
    await waitFor(() => pool.idleCount() === 1, 'the /fast connection back in the pool');
    const after = await request(front, { path: '/after' });
    expect(after.status).toBe(200);
    expect(after.body.toString()).toBe(`after on ${fastConn}`);
  });

  it('streams a 5 MB Content-Length response intact', async () => {
    const big = crypto.randomBytes(5 * 1024 * 1024);
    const up = await RawUpstream.start((r) => {
      r.socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${big.length}\r\n\r\n`);
      r.socket.write(big);
    });
    const pool = newPool();
    const front = await startFront(pool, up.url);
    const reply = await request(front);
    expect(reply.headers['content-length']).toBe(String(big.length));
    expect(sha256(reply.body)).toBe(sha256(big));
    expect(pool.idleCount()).toBe(1);
  });
});

describe('UpstreamPool: clients going away', () => {
  it('destroys the upstream connection when the client aborts mid-response', async () => {
    const up = await RawUpstream.start((r) => {
      r.socket.write(`HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n${'x'.repeat(1000)}`);
    });
    const pool = newPool();
    const front = await startFront(pool, up.url);
    await new Promise<void>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: front, path: '/', agent: false }, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', (e: NodeJS.ErrnoException) => (e.code === 'ECONNRESET' ? undefined : reject(e)));
      req.end();
    });
    await waitFor(() => up.conns[0]!.closed, 'the pool to close the upstream connection');
    expect(pool.idleCount()).toBe(0);
  });

  it('destroys the upstream connection when the client aborts mid-request-body', async () => {
    const up = await RawUpstream.start(() => {});
    const pool = newPool();
    const front = await startFront(pool, up.url);
    const s = net.connect(front, '127.0.0.1');
    cleanups.push(() => void s.destroy());
    s.on('error', () => {});
    s.write('POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\npartial body');
    await waitFor(() => up.conns.length === 1, 'the upstream connection');
    s.destroy();
    await waitFor(() => up.conns[0]!.closed, 'the pool to close the upstream connection');
    expect(pool.idleCount()).toBe(0);
  });
});

describe('UpstreamPool: HTTPS upstreams', () => {
  async function httpsUpstream(): Promise<{ url: string; ca: string }> {
    const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
    const cert = await selfSignedCertificate(privateKey, publicKey, 'localhost', new Date(Date.now() - 60_000), new Date(Date.now() + 3_600_000));
    const server = https.createServer({ key: privateKey.export({ type: 'pkcs8', format: 'pem' }), cert }, (req, res) => {
      res.setHeader('content-type', 'text/plain');
      res.end(`tls ${req.url} ${req.headers['cf-access-jwt-assertion'] === JWT ? 'with jwt' : 'no jwt'}`);
    });
    await new Promise<void>((r) => server.listen(0, 'localhost', () => r()));
    cleanups.push(async () => {
      server.closeAllConnections();
      await closeServer(server);
    });
    return { url: `https://localhost:${(server.address() as net.AddressInfo).port}`, ca: cert };
  }

  it('relays over TLS to an upstream whose certificate it trusts, reusing the connection', async () => {
    const up = await httpsUpstream();
    const pool = newPool({ ca: up.ca });
    const front = await startFront(pool, up.url);
    for (let i = 0; i < 3; i++) {
      const r = await request(front, { path: `/secure/${i}` });
      expect(r.status).toBe(200);
      expect(r.body.toString()).toBe(`tls /secure/${i} with jwt`);
    }
    expect(pool.idleCount()).toBe(1);
  });

  it('verifies the upstream certificate: an untrusted one is a 502, nothing is sent', async () => {
    const up = await httpsUpstream();
    const pool = newPool(); // default trust store: the self-signed certificate is not in it
    const front = await startFront(pool, up.url);
    const r = await request(front, { path: '/secure' });
    expect(r.status).toBe(502);
    expect(JSON.parse(r.body.toString())).toEqual({ error: 'bad_gateway', reason: 'upstream_unreachable' });
  });
});

describe('UpstreamPool: upgrade tunnels', () => {
  async function startTunnelFront(pool: UpstreamPool, upstream: string): Promise<number> {
    const server = http.createServer();
    server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, early: Buffer) => {
      socket.pause();
      pool.tunnel(req, socket, early, {
        upstream: new URL(upstream),
        path: req.url ?? '/',
        jwt: JWT,
        singleHeader: null,
        setCookie: null,
        clientIp: '198.51.100.7',
        refuse: (status, body) => {
          const text = JSON.stringify(body);
          socket.end(`HTTP/1.1 ${status} X\r\ncontent-length: ${text.length}\r\nconnection: close\r\n\r\n${text}`);
        },
      });
    });
    const port = await listen(server);
    cleanups.push(async () => {
      server.closeAllConnections();
      await closeServer(server);
    });
    return port;
  }
  const upgradeRequest = 'GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nCf-Access-Client-Secret: s\r\n\r\n';

  it('sends Connection: Upgrade and the Upgrade header, asserts the JWT, strips credentials', async () => {
    const up = await RawUpstream.start((r) => void r.socket.end('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\nbye'));
    const pool = newPool();
    const front = await startTunnelFront(pool, up.url);
    const text = await rawClient(front, upgradeRequest);
    expect(text).toBe('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\nbye');
    const headers = Object.fromEntries(up.requests[0]!.headers);
    expect(headers).toMatchObject({ connection: 'Upgrade', upgrade: 'websocket', 'cf-access-jwt-assertion': JWT });
    expect(headers['cf-access-client-secret']).toBeUndefined();
  });

  it('answers 502 for an unreachable upstream or a malformed answer, 504 for none', async () => {
    const pool = newPool({ responseTimeoutMs: 100 });
    const closed = net.createServer();
    const closedPort = await listen(closed);
    await closeServer(closed);
    expect(await rawClient(await startTunnelFront(pool, `http://127.0.0.1:${closedPort}`), upgradeRequest)).toMatch(/^HTTP\/1\.1 502 X\r\n[\s\S]*"upstream_unreachable"/);
    const bad = await RawUpstream.start((r) => void r.socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade : websocket\r\n\r\n'));
    expect(await rawClient(await startTunnelFront(pool, bad.url), upgradeRequest)).toMatch(/^HTTP\/1\.1 502 X\r\n[\s\S]*"upstream_protocol_error"/);
    const silent = await RawUpstream.start(() => undefined);
    expect(await rawClient(await startTunnelFront(pool, silent.url), upgradeRequest)).toMatch(/^HTTP\/1\.1 504 X\r\n[\s\S]*"upstream_timeout"/);
  });

  it('closes open tunnels with the pool', async () => {
    const up = await RawUpstream.start((r) => void r.socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n'));
    const pool = newPool();
    const front = await startTunnelFront(pool, up.url);
    const done = rawClient(front, upgradeRequest);
    await waitFor(() => up.requests.length === 1, 'the upgrade to reach the upstream');
    await sleep(20);
    pool.close();
    expect(await done).toMatch(/^HTTP\/1\.1 101 /);
    await waitFor(() => up.conns[0]!.closed, 'the upstream side to be closed');
  });
});
