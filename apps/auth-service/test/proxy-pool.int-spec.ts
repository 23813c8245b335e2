import crypto from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { expectEventually } from '@gatehouse/testing';
import { selfSignedCertificate } from '../src/keys/x509.js';
import {
  JWT,
  RawUpstream,
  closeServer,
  closedPort,
  json,
  listen,
  newPool,
  ok,
  onCleanup,
  rawConnection,
  request,
  runCleanups,
  startFront,
  target,
} from './proxy-harness.js';

/*
 * UpstreamPool (src/gateway/proxy.ts): upstream connections (keep-alive, failures, clients going away, TLS, limits).
 * Shared fixtures: ./proxy-harness.ts.
 */

afterEach(runCleanups);

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
    await expectEventually(() => expect(up.conns[0]!.closed).toBe(true));
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
    await expectEventually(() => expect(pool.idleCount()).toBe(0));
    expect((await request(front)).body.toString()).toBe('conn 2');
  });

  it('closes an idle pooled connection after idleTimeoutMs', async () => {
    const up = await RawUpstream.start((r) => void r.socket.write(ok('x')));
    const pool = newPool({ idleTimeoutMs: 40 });
    const front = await startFront(pool, up.url);
    await request(front);
    expect(pool.idleCount()).toBe(1);
    await expectEventually(() => expect(up.conns[0]!.closed).toBe(true));
    expect(pool.idleCount()).toBe(0);
  });

  it('keeps an idle connection for idleTimeoutMs when that is longer than responseTimeoutMs, and reuses it', async () => {
    const up = await RawUpstream.start((r) => void r.socket.write(ok(`#${r.n}`)));
    const pool = newPool({ responseTimeoutMs: 100, idleTimeoutMs: 600 });
    const front = await startFront(pool, up.url);
    expect((await request(front)).body.toString()).toBe('#1');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(up.conns[0]!.closed).toBe(false);
    expect((await request(front)).body.toString()).toBe('#2');
    const idleFrom = Date.now();
    expect(up.conns).toHaveLength(1);
    await expectEventually(() => expect(up.conns[0]!.closed).toBe(true), { timeoutMs: 3_000 });
    expect(Date.now() - idleFrom).toBeGreaterThanOrEqual(550);
    expect(pool.idleCount()).toBe(0);
  });

  it('closes each idle connection at its own idle time', async () => {
    // Three connections, checked in 300 ms apart: each is closed about idleTimeoutMs after its own check-in.
    const releases: Array<() => void> = [];
    const up = await RawUpstream.start((r) => void releases.push(() => r.socket.write(ok(`#${r.n}`))));
    const pool = newPool({ idleTimeoutMs: 400 });
    const front = await startFront(pool, up.url);
    const replies = [request(front), request(front), request(front)];
    await expectEventually(() => expect(releases).toHaveLength(3));
    const closedAt: number[] = [];
    for (const conn of up.conns) conn.socket.once('close', () => closedAt.push(Date.now()));
    const checkedIn: number[] = [];
    for (const release of releases) {
      release();
      checkedIn.push(Date.now());
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    await Promise.all(replies);
    await expectEventually(() => expect(closedAt).toHaveLength(3), { timeoutMs: 3_000 });
    for (let i = 0; i < 3; i++) {
      expect(closedAt[i]! - checkedIn[i]!).toBeGreaterThanOrEqual(350);
      // Closed together at the last one's time, the first would have idled 1,000 ms.
      expect(closedAt[i]! - checkedIn[i]!).toBeLessThan(900);
    }
    expect(pool.idleCount()).toBe(0);
  });

  it("follows the upstream's Keep-Alive timeout hint: idles 1 s less than it, or not at all", async () => {
    const withHint = (hint: string) => `HTTP/1.1 200 OK\r\nKeep-Alive: ${hint}\r\nContent-Length: 1\r\n\r\nx`;
    const short = await RawUpstream.start((r) => void r.socket.write(withHint('timeout=1')));
    const pool = newPool({ idleTimeoutMs: 60_000 });
    const front = await startFront(pool, short.url);
    expect((await request(front)).status).toBe(200);
    await expectEventually(() => expect(short.conns[0]!.closed).toBe(true));
    expect(pool.idleCount()).toBe(0);

    const two = await RawUpstream.start((r) => void r.socket.write(withHint('max=100, timeout=2')));
    const front2 = await startFront(pool, two.url);
    const r = await request(front2);
    expect(r.status).toBe(200);
    expect(r.headers['keep-alive']).not.toBe('max=100, timeout=2'); // hop-by-hop: not relayed
    expect(pool.idleCount()).toBe(1);
    const t0 = Date.now();
    await expectEventually(() => expect(two.conns[0]!.closed).toBe(true), { timeoutMs: 3000 });
    expect(Date.now() - t0).toBeLessThan(2500); // well before the pool's own 60 s
    expect(pool.idleCount()).toBe(0);
  });

  it('keeps at most maxIdlePerOrigin idle connections', async () => {
    const up = await RawUpstream.start(async (r) => {
      await expectEventually(() => expect(up.requests).toHaveLength(3));
      r.socket.write(ok(r.target));
    });
    const pool = newPool({ maxIdlePerOrigin: 2 });
    const front = await startFront(pool, up.url);
    const replies = await Promise.all(['/a', '/b', '/c'].map((path) => request(front, { path })));
    expect(replies.map((r) => r.body.toString())).toEqual(['/a', '/b', '/c']);
    expect(up.conns).toHaveLength(3);
    await expectEventually(() => expect(up.conns.filter((c) => c.closed)).toHaveLength(1));
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
    // Not replayed: the next request is the upstream's third, on a second connection.
    expect((await request(front)).body.toString()).toBe('conn 2');
    expect(up.requests.map((r) => [r.conn, r.n, r.method])).toEqual([
      [1, 1, 'GET'],
      [1, 2, 'POST'],
      [2, 1, 'GET'],
    ]);
  });
});

describe('UpstreamPool: unreachable and slow upstreams', () => {
  it('answers 502 upstream_unreachable for a closed port', async () => {
    const port = await closedPort();
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
    await expectEventually(() => expect(up.conns[0]!.closed).toBe(true));
    expect(pool.idleCount()).toBe(0);
  });

  it('runs the response timeout from each request on a reused connection, not from its last use', async () => {
    // The 200 ms the connection idled before the second request do not count against it.
    const up = await RawUpstream.start((r) => {
      if (r.n === 1) r.socket.write(ok('first'));
    });
    const pool = newPool({ responseTimeoutMs: 300, idleTimeoutMs: 5_000 });
    const front = await startFront(pool, up.url);
    expect((await request(front)).body.toString()).toBe('first');
    await new Promise((resolve) => setTimeout(resolve, 200));
    const started = Date.now();
    const reply = await request(front);
    expect(reply.status).toBe(504);
    expect(Date.now() - started).toBeGreaterThanOrEqual(280);
    expect(up.conns).toHaveLength(1);
  });

  it('cuts the client response when the upstream stalls mid-body, and closes that connection', async () => {
    const up = await RawUpstream.start((r) => void r.socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part'));
    const pool = newPool({ responseTimeoutMs: 100 });
    const front = await startFront(pool, up.url);
    await expect(request(front)).rejects.toThrow();
    await expectEventually(() => expect(up.conns[0]!.closed).toBe(true));
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
    await expectEventually(() => expect(up.conns[0]!.closed).toBe(true));
    expect(pool.idleCount()).toBe(0);
  });

  it('destroys the upstream connection when the client aborts mid-request-body', async () => {
    const up = await RawUpstream.start(() => {});
    const pool = newPool();
    const front = await startFront(pool, up.url);
    const s = net.connect(front, '127.0.0.1');
    onCleanup(() => void s.destroy());
    s.on('error', () => {});
    s.write('POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\npartial body');
    await expectEventually(() => expect(up.conns).toHaveLength(1));
    s.destroy();
    await expectEventually(() => expect(up.conns[0]!.closed).toBe(true));
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
    onCleanup(async () => {
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

describe('UpstreamPool: connection limit per origin', () => {
  /** An upstream that answers each request only when told to. */
  async function heldUpstream() {
    const held: Array<() => void> = [];
    const up = await RawUpstream.start((r) => void held.push(() => r.socket.write(ok(`${r.target} on ${r.conn}`))));
    return { up, held };
  }

  it('a request beyond maxConnectionsPerOrigin waits for a free connection, and is sent on it', async () => {
    const { up, held } = await heldUpstream();
    const pool = newPool({ maxConnectionsPerOrigin: 1, queueTimeoutMs: 5_000 });
    const front = await startFront(pool, up.url);
    const first = request(front, { path: '/first' });
    await expectEventually(() => expect(held).toHaveLength(1));
    const second = request(front, { path: '/second' });
    held.shift()!();
    expect((await first).body.toString()).toBe('/first on 1');
    await expectEventually(() => expect(held).toHaveLength(1));
    held.shift()!();
    expect((await second).body.toString()).toBe('/second on 1');
    expect(up.conns).toHaveLength(1);
  });

  it('answers 503 upstream_connection_limit after queueTimeoutMs, and at once when the queue is full', async () => {
    const { up, held } = await heldUpstream();
    const pool = newPool({ maxConnectionsPerOrigin: 1, queueTimeoutMs: 100 });
    const front = await startFront(pool, up.url);
    const first = request(front, { path: '/first' });
    await expectEventually(() => expect(held).toHaveLength(1));
    const waited = request(front, { path: '/waits' });
    const started = Date.now();
    const full = await request(front, { path: '/full' }); // the queue holds as many as the limit: one
    expect(full.status).toBe(503);
    expect(json(full)).toEqual({ error: 'unavailable', reason: 'upstream_connection_limit' });
    const timedOut = await waited;
    expect(timedOut.status).toBe(503);
    expect(json(timedOut)).toEqual({ error: 'unavailable', reason: 'upstream_connection_limit' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
    held.shift()!();
    expect((await first).status).toBe(200);
    expect(up.requests.map((r) => r.target)).toEqual(['/first']);
  });

  it('a connection that closes frees its place for a waiting request', async () => {
    const up = await RawUpstream.start((r) => {
      if (r.target === '/dies') return void r.socket.destroy();
      r.socket.write(ok(`${r.target} on ${r.conn}`));
    });
    const pool = newPool({ maxConnectionsPerOrigin: 1, queueTimeoutMs: 5_000 });
    const front = await startFront(pool, up.url);
    const [dies, next] = await Promise.all([request(front, { method: 'POST', path: '/dies', body: 'x' }), request(front, { path: '/next' })]);
    expect(dies.status).toBe(502);
    expect(next.body.toString()).toBe('/next on 2');
  });
});

describe('UpstreamPool: pipelined client requests', () => {
  /** An upstream that answers each request only when the test says so, and records how many were out at once. */
  async function heldUpstream() {
    const held: Array<{ target: string; answer: () => void }> = [];
    let mostOut = 0;
    const up = await RawUpstream.start((r) => {
      held.push({ target: r.target, answer: () => void r.socket.write(ok(`${r.target} on ${r.conn}`)) });
      mostOut = Math.max(mostOut, held.filter((h) => h.target.startsWith('/p')).length);
    });
    const answer = (path: string) => {
      const at = held.findIndex((h) => h.target === path);
      expect(at).toBeGreaterThanOrEqual(0);
      held.splice(at, 1)[0]!.answer();
    };
    return { up, held, answer, mostOut: () => mostOut };
  }

  /** A front that counts its responses closed (finished, or their client gone). */
  async function countingFront(pool: ReturnType<typeof newPool>, upstream: string) {
    let closed = 0;
    const server = http.createServer((req, res) => {
      res.on('close', () => closed++);
      pool.forward(req, res, target(upstream));
    });
    const port = await listen(server);
    onCleanup(async () => {
      server.closeAllConnections();
      await closeServer(server);
    });
    return { port, closed: () => closed };
  }

  const pipeline = (count: number) => Array.from({ length: count }, (_, i) => `GET /p${i} HTTP/1.1\r\nHost: a\r\n\r\n`).join('');
  const settle = () => new Promise((resolve) => setTimeout(resolve, 100));

  it('take one upstream connection at a time, in order, each once the one before it is answered', async () => {
    const { up, held, answer, mostOut } = await heldUpstream();
    // 40 requests in one write, far beyond the limit and its queue (2 + 2).
    const pool = newPool({ maxConnectionsPerOrigin: 2, queueTimeoutMs: 5_000 });
    const front = await startFront(pool, up.url);
    const client = rawConnection(front, pipeline(40));
    await expectEventually(() => expect(held.map((h) => h.target)).toEqual(['/p0']));
    await settle();
    expect(up.requests.map((r) => r.target)).toEqual(['/p0']);
    for (let i = 0; i < 40; i++) {
      await expectEventually(() => expect(held.map((h) => h.target)).toEqual([`/p${i}`]));
      answer(`/p${i}`);
    }
    await expectEventually(() => expect(client.received().match(/HTTP\/1\.1 200 /g)).toHaveLength(40));
    expect(mostOut()).toBe(1);
    // In order, each on the connection the one before it gave back.
    const bodies = client.received().match(/\/p\d+ on \d+/g);
    expect(bodies).toEqual(Array.from({ length: 40 }, (_, i) => `/p${i} on 1`));
    expect(up.conns).toHaveLength(1);
  });

  it('another client is served while one connection pipelines many slow requests', async () => {
    const { up, held, answer } = await heldUpstream();
    const pool = newPool({ maxConnectionsPerOrigin: 2, queueTimeoutMs: 5_000 });
    const front = await startFront(pool, up.url);
    const client = rawConnection(front, pipeline(200));
    await expectEventually(() => expect(held).toHaveLength(1));
    const other = request(front, { path: '/other' });
    await expectEventually(() => expect(held.map((h) => h.target)).toEqual(['/p0', '/other']));
    answer('/other');
    const reply = await other;
    expect([reply.status, reply.body.toString()]).toEqual([200, '/other on 2']);
    expect(client.received()).toBe(''); // nothing refused: the rest simply waits its turn
    answer('/p0');
    await expectEventually(() => expect(held.map((h) => h.target)).toEqual(['/p1']));
    expect(client.received()).toMatch(/^HTTP\/1\.1 200 OK\r\n[^]*\/p0 on 1$/);
  });

  it('a client that goes away mid-pipeline leaves no waiting exchange and no upstream connection behind', async () => {
    const { up, held, answer } = await heldUpstream();
    const pool = newPool({ maxConnectionsPerOrigin: 1, queueTimeoutMs: 5_000 });
    const front = await countingFront(pool, up.url);
    const client = rawConnection(front.port, pipeline(20));
    await expectEventually(() => expect(held).toHaveLength(1));
    answer('/p0'); // /p1 goes up once /p0 is answered
    await expectEventually(() => expect(held.map((h) => h.target)).toEqual(['/p1']));
    client.socket.destroy();
    // Every response is closed (the 18 never started too), the one in flight abandoned with its connection.
    await expectEventually(() => expect(front.closed()).toBe(20));
    await expectEventually(() => expect(up.conns[0]!.closed).toBe(true));
    await settle();
    expect(up.requests.map((r) => r.target)).toEqual(['/p0', '/p1']);
    expect(pool.idleCount()).toBe(0);
    // The origin's one place is free and its queue is empty: a request takes the place, a second
    // one waits in the queue (of one) instead of being refused, and both are served.
    held.length = 0;
    const first = request(front.port, { path: '/first' });
    await expectEventually(() => expect(held.map((h) => h.target)).toEqual(['/first']));
    const second = request(front.port, { path: '/second' });
    await settle();
    answer('/first');
    expect((await first).body.toString()).toBe('/first on 2');
    await expectEventually(() => expect(held.map((h) => h.target)).toEqual(['/second']));
    answer('/second');
    expect((await second).body.toString()).toBe('/second on 2');
  });
});
