import net from 'node:net';
import { expectEventually } from '@gatehouse/testing';
import {
  JWT,
  RawUpstream,
  closeServer,
  listen,
  newPool,
  ok,
  onCleanup,
  rawConnection,
  rawReply,
  request,
  runCleanups,
  startRecordingFront,
  startRecordingUpstream,
  valuesOf,
  type ParsedRequest,
} from './proxy-harness.js';

/*
 * Request smuggling onto pooled upstream connections: whatever a client sends, the upstream (Node's
 * own parser, llhttp) parses exactly the requests the gateway admitted, framed as the gateway
 * parsed them, or the request is refused with a 4xx and nothing reaches the upstream.
 * Shared fixtures: ./proxy-harness.ts.
 */

afterEach(runCleanups);

/** What matters of a request for smuggling: where it goes and what its body is. */
const shape = (r: ParsedRequest) => ({ method: r.method, url: r.url, body: r.body, complete: r.complete });

async function setup() {
  const upstream = await startRecordingUpstream();
  const pool = newPool({ maxIdlePerOrigin: 1 });
  const front = await startRecordingFront(pool, upstream.url);
  return { upstream, pool, front };
}

/**
 * Sends raw bytes on one client connection; returns what was answered once `answers` final
 * responses have arrived or the gateway closed the connection. (Not half-closed: Node's server
 * aborts the requests of a client that half-closes.)
 */
async function send(port: number, bytes: string, answers = 1): Promise<string> {
  const client = rawConnection(port, bytes);
  let closed = false;
  void client.closed.then(() => (closed = true));
  await expectEventually(() => expect(closed || (client.received().match(/HTTP\/1\.1 [2-5]\d\d /g)?.length ?? 0) >= answers).toBe(true));
  return client.received();
}

const victim = { path: '/victim', headers: { host: 'app.example.test', cookie: 'session=victim' } };

describe('request smuggling: the framing comes from the gateway, never from the client', () => {
  it('the reported attack: `Connection: keep-alive, Content-Length` with a body, then another client', async () => {
    const { upstream, pool, front } = await setup();
    const smuggled = 'GET /admin HTTP/1.1\r\nHost: evil.internal\r\nContent-Length: 400\r\n\r\n';
    const attack = `POST /upload HTTP/1.1\r\nHost: app.example.test\r\nConnection: keep-alive, Content-Length\r\nContent-Length: ${smuggled.length}\r\n\r\n${smuggled}`;
    const answer = await send(front.port, attack);
    expect(rawReply(answer).status).toBe(200);
    await expectEventually(() => expect(pool.idleCount()).toBe(1));
    const next = await request(front.port, victim);
    expect(next.status).toBe(200);
    expect(upstream.requests.map(shape)).toEqual(front.admitted.map(shape));
    expect(upstream.requests.map(shape)).toEqual([
      { method: 'POST', url: '/upload', body: smuggled, complete: true },
      { method: 'GET', url: '/victim', body: '', complete: true },
    ]);
    expect(valuesOf(upstream.requests[0]!, 'content-length')).toEqual([String(smuggled.length)]);
    expect(valuesOf(upstream.requests[1]!, 'cf-access-jwt-assertion')).toEqual([JWT]);
  });

  it.each([
    ['Connection: close, transfer-encoding', 'close, transfer-encoding'],
    ['Connection: Transfer-Encoding', 'Transfer-Encoding'],
  ])('%s with a chunked body: re-chunked by the gateway', async (_name, connection) => {
    const { upstream, front } = await setup();
    const inner = 'GET /admin HTTP/1.1\r\nHost: evil.internal\r\n\r\n';
    const attack = `POST /upload HTTP/1.1\r\nHost: app.example.test\r\nConnection: ${connection}\r\nTransfer-Encoding: chunked\r\n\r\n${inner.length.toString(16)}\r\n${inner}\r\n0\r\n\r\n`;
    expect(rawReply(await send(front.port, attack)).status).toBe(200);
    await request(front.port, victim);
    expect(upstream.requests.map(shape)).toEqual([
      { method: 'POST', url: '/upload', body: inner, complete: true },
      { method: 'GET', url: '/victim', body: '', complete: true },
    ]);
    expect(valuesOf(upstream.requests[0]!, 'transfer-encoding')).toEqual(['chunked']);
  });

  it('Connection cannot remove Host or any header the gateway adds', async () => {
    const { upstream, front } = await setup();
    const listed = 'host, content-length, transfer-encoding, cf-access-jwt-assertion, x-forwarded-for, x-forwarded-host, x-forwarded-proto';
    const req = `POST /x HTTP/1.1\r\nHost: app.example.test\r\nConnection: ${listed}\r\nContent-Length: 4\r\n\r\nbody`;
    expect(rawReply(await send(front.port, req)).status).toBe(200);
    const got = upstream.requests[0]!;
    expect(shape(got)).toEqual({ method: 'POST', url: '/x', body: 'body', complete: true });
    expect(valuesOf(got, 'host')).toEqual(['app.example.test']);
    expect(valuesOf(got, 'content-length')).toEqual(['4']);
    expect(valuesOf(got, 'cf-access-jwt-assertion')).toEqual([JWT]);
    expect(valuesOf(got, 'x-forwarded-for')).toHaveLength(1);
    expect(valuesOf(got, 'x-forwarded-host')).toEqual(['app.example.test']);
    expect(valuesOf(got, 'x-forwarded-proto')).toEqual(['http']);
  });

  it('Connection still removes the ordinary end-to-end headers it names', async () => {
    const { upstream, front } = await setup();
    await send(front.port, 'GET / HTTP/1.1\r\nHost: a\r\nConnection: x-hop, close\r\nX-Hop: 1\r\nX-Kept: 2\r\n\r\n');
    expect(valuesOf(upstream.requests[0]!, 'x-hop')).toEqual([]);
    expect(valuesOf(upstream.requests[0]!, 'x-kept')).toEqual(['2']);
  });

  it.each([
    ['Content-Length and Transfer-Encoding', 'Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'],
    ['two equal Content-Lengths', 'Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello'],
    ['two different Content-Lengths', 'Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!'],
    ['a Content-Length list', 'Content-Length: 5, 5\r\n\r\nhello'],
    ['a signed Content-Length', 'Content-Length: +5\r\n\r\nhello'],
    ['Transfer-Encoding: chunked, identity', 'Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n'],
    ['Transfer-Encoding: identity', 'Transfer-Encoding: identity\r\n\r\nhello'],
    ['Transfer-Encoding: gzip, chunked', 'Transfer-Encoding: gzip, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n'],
    ['Transfer-Encoding twice', 'Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n'],
    ['Transfer-Encoding: xchunked', 'Transfer-Encoding: xchunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n'],
    ['an obs-fold Transfer-Encoding', 'Transfer-Encoding: gzip\r\n ,chunked\r\n\r\n0\r\n\r\n'],
    ['an obs-fold header', 'X-A: a\r\n b\r\nContent-Length: 0\r\n\r\n'],
    ['a bare LF in the head', 'X-A: a\nX-B: b\r\nContent-Length: 0\r\n\r\n'],
    ['a bare CR in the head', 'X-A: a\rX-B: b\r\nContent-Length: 0\r\n\r\n'],
    ['a space before the colon', 'Content-Length : 5\r\n\r\nhello'],
    ['a bad chunk size', 'Transfer-Encoding: chunked\r\n\r\n5x\r\nhello\r\n0\r\n\r\n'],
    ['bare LFs in the chunked body', 'Transfer-Encoding: chunked\r\n\r\n5\nhello\n0\n\n'],
  ])('%s: refused with a 4xx, nothing reaches the upstream', async (_name, rest) => {
    const { upstream, front } = await setup();
    const answer = await send(front.port, `POST /x HTTP/1.1\r\nHost: app.example.test\r\n${rest}`);
    expect(rawReply(answer).status).toBeGreaterThanOrEqual(400);
    expect(rawReply(answer).status).toBeLessThan(500);
    expect(upstream.requests).toEqual([]);
  });

  it('HTTP/1.0 with Transfer-Encoding: refused with a 4xx (RFC 9112 §6.1: faulty framing)', async () => {
    const { upstream, front } = await setup();
    const answer = await send(front.port, 'POST /x HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n');
    expect(rawReply(answer).status).toBe(400);
    expect(upstream.requests).toEqual([]);
  });

  it.each([
    ['a Content-Length with leading zeros', 'Content-Length: 005\r\n\r\nhello', 'hello', ['content-length', '5']],
    ['Transfer-Encoding: Chunked (any case)', 'Transfer-Encoding: Chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n', 'hello', ['transfer-encoding', 'chunked']],
    [
      'chunk extensions and trailers',
      'Transfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n0\r\nX-Trailer: t\r\n\r\n',
      'hello',
      ['transfer-encoding', 'chunked'],
    ],
  ])('%s: forwarded with the framing the gateway writes', async (_name, rest, body, [name, value]) => {
    const { upstream, front } = await setup();
    expect(rawReply(await send(front.port, `POST /x HTTP/1.1\r\nHost: a\r\n${rest}`)).status).toBe(200);
    const got = upstream.requests[0]!;
    expect(shape(got)).toEqual({ method: 'POST', url: '/x', body, complete: true });
    expect(valuesOf(got, name!)).toEqual([value]);
    expect(got.headers.map(([k]) => k)).not.toContain(name === 'content-length' ? 'transfer-encoding' : 'content-length');
    expect(got.headers.map(([k]) => k)).not.toContain('x-trailer');
  });

  it('a GET with a body is forwarded as one request with that body, on a connection that is then closed', async () => {
    const { upstream, pool, front } = await setup();
    const inner = 'GET /admin HTTP/1.1\r\nHost: x\r\n\r\n';
    expect(rawReply(await send(front.port, `GET /a HTTP/1.1\r\nHost: a\r\nContent-Length: ${inner.length}\r\n\r\n${inner}`)).status).toBe(200);
    expect(valuesOf(upstream.requests[0]!, 'connection')).toEqual(['close']);
    expect(pool.idleCount()).toBe(0);
    await request(front.port, victim);
    await expectEventually(() => expect(pool.idleCount()).toBe(1));
    expect(upstream.requests.map(shape)).toEqual([
      { method: 'GET', url: '/a', body: inner, complete: true },
      { method: 'GET', url: '/victim', body: '', complete: true },
    ]);
    // A method with body semantics keeps its connection pooled.
    await request(front.port, { method: 'POST', path: '/p', headers: { host: 'a' }, body: 'x' });
    expect(valuesOf(upstream.requests[2]!, 'connection')).toEqual([]);
    await expectEventually(() => expect(pool.idleCount()).toBe(1));
  });

  it('a GET with a body, to an upstream that ignores its Content-Length (CL.0): the body never meets another client on that connection', async () => {
    // Origins that read no body on GET (static file handlers, redirects: "CL.0" desync) parse its
    // body as the next request on the connection. The gateway cannot know which origins do: a
    // body on a method without body semantics gets a connection of its own, closed after it.
    const conns: Array<{ heads: string[]; socket: net.Socket }> = [];
    const lax = net.createServer((socket) => {
      const conn = { heads: [] as string[], socket };
      conns.push(conn);
      let buffered = '';
      let answered = Promise.resolve(); // answers in order, as HTTP/1.1 requires
      socket.on('error', () => undefined);
      socket.on('data', (d) => {
        buffered += d.toString('latin1');
        let end: number;
        while ((end = buffered.indexOf('\r\n\r\n')) >= 0) {
          const head = buffered.slice(0, end);
          buffered = buffered.slice(end + 4); // every request is bodyless to this origin
          conn.heads.push(head);
          const target = head.split(' ')[1]!;
          // The smuggled request is slower to answer, so that a next request is already out.
          const delay = target === '/admin/smuggled' ? 150 : 0;
          answered = answered
            .then(() => new Promise((r) => setTimeout(r, delay)))
            .then(() => void socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${target.length}\r\n\r\n${target}`));
        }
      });
    });
    const port = await listen(lax);
    onCleanup(async () => {
      for (const c of conns) c.socket.destroy();
      await closeServer(lax);
    });
    const pool = newPool({ maxIdlePerOrigin: 1 });
    const front = await startRecordingFront(pool, `http://127.0.0.1:${port}`);
    const smuggled = 'GET /admin/smuggled HTTP/1.1\r\nHost: app.example.test\r\n\r\n';
    const answer = await send(front.port, `GET /a HTTP/1.1\r\nHost: app.example.test\r\nContent-Length: ${smuggled.length}\r\n\r\n${smuggled}`);
    expect(rawReply(answer).status).toBe(200);
    const next = await request(front.port, victim);
    expect([next.status, next.body.toString()]).toEqual([200, '/victim']);
    const withBody = conns.find((c) => c.heads[0]!.startsWith('GET /a '))!;
    expect(withBody.heads[0]).toMatch(/\r\nConnection: close(\r\n|$)/i);
    expect(withBody.heads.some((h) => h.startsWith('GET /victim '))).toBe(false);
  });

  it('pipelined client requests reach the upstream as exactly those requests', async () => {
    const { upstream, front } = await setup();
    const pipelined =
      'POST /one HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc' +
      'POST /two HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\ndef\r\n0\r\n\r\n' +
      'GET /three HTTP/1.1\r\nHost: a\r\n\r\n';
    const answer = await send(front.port, pipelined, 3);
    expect(answer.match(/HTTP\/1\.1 200 /g)).toHaveLength(3);
    // One after the other (each goes up once the one before it is answered), so in order.
    expect(upstream.requests.map(shape)).toEqual([
      { method: 'POST', url: '/one', body: 'abc', complete: true },
      { method: 'POST', url: '/two', body: 'def', complete: true },
      { method: 'GET', url: '/three', body: '', complete: true },
    ]);
    expect(front.admitted.map(shape)).toEqual(upstream.requests.map(shape));
  });

  it('Expect: 100-continue with a request in the body: one request, the body as sent', async () => {
    const { upstream, front } = await setup();
    const inner = 'GET /admin HTTP/1.1\r\nHost: x\r\n\r\n';
    const client = rawConnection(
      front.port,
      `POST /up HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nConnection: content-length\r\nContent-Length: ${inner.length}\r\n\r\n`,
    );
    await expectEventually(() => expect(client.received()).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\n/));
    client.socket.write(inner);
    await expectEventually(() => expect(client.received()).toMatch(/HTTP\/1\.1 200 /));
    expect(upstream.requests.map(shape)).toEqual([{ method: 'POST', url: '/up', body: inner, complete: true }]);
    expect(upstream.requests[0]!.headers.map(([k]) => k)).not.toContain('expect');
  });

  it('a client that stops mid-body: the upstream never completes that request, and the next client is not its body', async () => {
    const { upstream, front } = await setup();
    const client = rawConnection(front.port, 'POST /cut HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\npart');
    await expectEventually(() => expect(upstream.requests).toHaveLength(1));
    client.socket.destroy();
    await request(front.port, victim);
    expect(upstream.requests.map((r) => [r.url, r.complete])).toEqual([
      ['/cut', false],
      ['/victim', true],
    ]);
  });
});

describe('request smuggling: upstream answers with a body where none may be', () => {
  it.each([
    ['a HEAD answered with its body', 'HEAD', 'HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nevil'],
    ['a 204 with a body', 'GET', 'HTTP/1.1 204 No Content\r\nContent-Length: 4\r\n\r\nevil'],
    ['a 304 with a body', 'GET', 'HTTP/1.1 304 Not Modified\r\nContent-Length: 4\r\n\r\nevil'],
  ])('%s: never becomes the next client response (the connection is not reused)', async (_name, method, answer) => {
    const up = await RawUpstream.start((r) => void r.socket.write(r.conn === 1 ? answer : ok('good')));
    const pool = newPool();
    const front = await startRecordingFront(pool, up.url);
    const first = await request(front.port, { method });
    expect(first.body.length).toBe(0);
    await expectEventually(() => expect(up.conns[0]!.closed).toBe(true));
    expect((await request(front.port)).body.toString()).toBe('good');
  });
});
