import crypto from 'node:crypto';
import http from 'node:http';
import { expectEventually } from '@gatehouse/testing';
import {
  RawUpstream,
  closeServer,
  json,
  listen,
  newPool,
  ok,
  onCleanup,
  request,
  runCleanups,
  sha256,
  startFront,
  startHttpUpstream,
  target,
  writePieces,
} from './proxy-harness.js';

/*
 * UpstreamPool (src/gateway/proxy.ts): the response relayed to the client, well formed or not.
 * Shared fixtures: ./proxy-harness.ts.
 */

afterEach(runCleanups);

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
    await expectEventually(() => expect(up.conns[0]!.closed).toBe(true));
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
    await expectEventually(() => expect(up.conns[0]!.closed).toBe(true));
    expect((await request(front)).body.toString()).toBe('good');
  });

  it.each([
    ['in the same write', ['HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nevil']],
    [
      'in the same write, after a chunked body',
      ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nevil'],
    ],
    ['in the same write, after a 204', ['HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nevil']],
    ['in a later write', ['HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok', 'HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nevil']],
  ])('bytes after a complete response (%s): the connection is not reused', async (_name, pieces) => {
    const up = await RawUpstream.start((r) => (r.conn === 1 ? writePieces(r.socket, pieces) : void r.socket.write(ok('good'))));
    const pool = newPool();
    const front = await startFront(pool, up.url);
    const first = await request(front);
    expect([200, 204]).toContain(first.status);
    if (first.status === 200) expect(first.body.toString()).toBe('ok');
    await expectEventually(() => expect(up.conns[0]!.closed).toBe(true));
    const next = await request(front);
    expect(next.status).toBe(200);
    expect(next.body.toString()).toBe('good');
    expect(up.conns).toHaveLength(2);
    expect(up.requests.map((r) => r.conn)).toEqual([1, 2]);
  });
});

describe('UpstreamPool: streamed response bodies', () => {
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
    // The front's sockets have a 1 KiB mark, so that every relayed chunk reports backpressure and
    // the proxy pauses that upstream socket; the whole chunked response (and its end) arrives in
    // that same read, and a finished response emits no 'drain': the connection goes back to the
    // pool paused, and must still read the next exchange's answer.
    const chunks = Array.from({ length: 24 }, (_, i) => `400\r\n${String.fromCharCode(97 + i).repeat(1024)}\r\n`).join('');
    const pool = newPool({ responseTimeoutMs: 500 });
    const up = await RawUpstream.start((r) => {
      if (r.target === '/fast') r.socket.write(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${chunks}0\r\n\r\n`);
      else r.socket.write(ok(`after on ${r.conn}`));
    });
    let pushedBack = 0;
    const front = http.createServer({ highWaterMark: 1024 }, (req, res) => {
      const write = res.write.bind(res) as (chunk: Buffer) => boolean;
      res.write = ((chunk: Buffer) => {
        const accepted = write(chunk);
        if (!accepted) pushedBack++;
        return accepted;
      }) as typeof res.write;
      pool.forward(req, res, target(up.url));
    });
    const port = await listen(front);
    onCleanup(async () => {
      front.closeAllConnections();
      await closeServer(front);
    });
    const fast = await request(port, { path: '/fast' });
    expect(fast.body.toString()).toBe(Array.from({ length: 24 }, (_, i) => String.fromCharCode(97 + i).repeat(1024)).join(''));
    expect(pushedBack).toBeGreaterThan(0); // the premise
    const fastConn = up.requests.find((q) => q.target === '/fast')!.conn;
    await expectEventually(() => expect(pool.idleCount()).toBe(1));
    const after = await request(port, { path: '/after' });
    expect([after.status, after.body.toString()]).toEqual([200, `after on ${fastConn}`]);
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
