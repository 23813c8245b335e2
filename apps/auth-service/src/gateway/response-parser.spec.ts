import { ResponseParser, UpstreamProtocolError, type ResponseHead } from './response-parser.js';

interface Seen {
  heads: ResponseHead[];
  body: string;
  lastFlags: boolean[];
  done: number;
}

function parser(maxHead?: number): { p: ResponseParser; seen: Seen } {
  const seen: Seen = { heads: [], body: '', lastFlags: [], done: 0 };
  const p = new ResponseParser(
    {
      head: (h) => seen.heads.push(h),
      body: (c, last) => {
        seen.body += c.toString('latin1');
        seen.lastFlags.push(last);
      },
      done: () => seen.done++,
    },
    maxHead,
  );
  return { p, seen };
}

/** Feeds `raw` split at every possible point (and byte by byte); every split must parse alike. */
function everySplit(raw: string, method = 'GET'): Seen[] {
  const bytes = Buffer.from(raw, 'latin1');
  const results: Seen[] = [];
  for (let cut = 0; cut <= bytes.length; cut++) {
    const { p, seen } = parser();
    p.start(method);
    p.execute(bytes.subarray(0, cut));
    p.execute(bytes.subarray(cut));
    results.push(seen);
  }
  const { p, seen } = parser();
  p.start(method);
  for (let i = 0; i < bytes.length; i++) p.execute(bytes.subarray(i, i + 1));
  results.push(seen);
  return results;
}

function parseError(raw: string, method = 'GET'): string {
  const { p } = parser();
  p.start(method);
  try {
    p.execute(Buffer.from(raw, 'latin1'));
  } catch (e) {
    expect(e).toBeInstanceOf(UpstreamProtocolError);
    return (e as Error).message;
  }
  throw new Error(`parsed without error: ${JSON.stringify(raw)}`);
}

describe('ResponseParser (upstream responses, strict HTTP/1.1)', () => {
  it('parses a head that repeats on the connection as the first time, framed by each request (a cached parse)', () => {
    const head = 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\n';
    const { p, seen } = parser();
    p.start('GET');
    p.execute(Buffer.from(`${head}ok`, 'latin1'));
    // The same head answering HEAD: no body, done at once (the body bytes of a GET would be extra).
    p.start('HEAD');
    p.execute(Buffer.from(head, 'latin1'));
    expect(p.done).toBe(true);
    p.start('GET');
    p.execute(Buffer.from(`${head}ok`, 'latin1'));
    expect(seen.done).toBe(3);
    expect(seen.body).toBe('okok');
    expect(seen.heads.map((h) => [h.contentLength, h.keepAlive])).toEqual([
      [2, true],
      [0, true],
      [2, true],
    ]);
    expect(seen.heads[2]!.headers).toBe(seen.heads[0]!.headers);
    // Another head is parsed anew; a repeated framing error is refused every time.
    p.start('GET');
    p.execute(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc', 'latin1'));
    expect(seen.body).toBe('okokabc');
    const twice = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n';
    for (let i = 0; i < 2; i++) {
      p.start('GET');
      expect(() => p.execute(Buffer.from(twice, 'latin1'))).toThrow('chunked applied twice');
    }
    // Bodiless, it frames nothing: accepted, as before the cache.
    p.start('HEAD');
    p.execute(Buffer.from(twice, 'latin1'));
    expect(p.done).toBe(true);
  });

  it('keeps nothing of the bytes it is given: each read may go into the same buffer (the pool reads so)', () => {
    const raw = 'HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\nhello world!';
    const chunked = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n7\r\n world!\r\n0\r\n\r\n';
    for (const text of [raw, chunked]) {
      const bytes = Buffer.from(text, 'latin1');
      for (const size of [1, 2, 3, 5, 7]) {
        const { p, seen } = parser();
        p.start('GET');
        const shared = Buffer.alloc(size);
        for (let at = 0; at < bytes.length; at += size) {
          const n = bytes.copy(shared, 0, at, at + size);
          p.execute(shared.subarray(0, n));
          shared.fill('#'); // the next read overwrites it
        }
        expect(seen.heads).toHaveLength(1);
        expect(seen.body).toBe('hello world!');
        expect(seen.done).toBe(1);
      }
    }
  });

  it('parses a Content-Length response however the bytes are split', () => {
    const raw = 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 11\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\nhello world';
    for (const seen of everySplit(raw)) {
      expect(seen.heads).toHaveLength(1);
      expect(seen.heads[0]).toMatchObject({ status: 200, contentLength: 11, chunked: false, keepAlive: true });
      expect(seen.heads[0]!.headers).toEqual(['Content-Type', 'text/plain', 'Content-Length', '11', 'Set-Cookie', 'a=1', 'Set-Cookie', 'b=2']);
      expect(seen.body).toBe('hello world');
      expect(seen.lastFlags.at(-1)).toBe(true);
      expect(seen.done).toBe(1);
    }
  });

  it('decodes chunked bodies (extensions, trailers) however the bytes are split', () => {
    const raw = 'HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n1;ext=1\r\n \r\nA\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\n';
    for (const seen of everySplit(raw)) {
      expect(seen.heads[0]).toMatchObject({ status: 201, chunked: true, keepAlive: true, contentLength: null });
      expect(seen.body).toBe('hello 0123456789');
      expect(seen.done).toBe(1);
    }
  });

  it('skips interim 1xx responses and forwards the final one', () => {
    const raw = 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';
    for (const seen of everySplit(raw)) {
      expect(seen.heads.map((h) => h.status)).toEqual([200]);
      expect(seen.body).toBe('ok');
      expect(seen.done).toBe(1);
    }
  });

  it('knows which responses have no body: HEAD, 204, 304, Content-Length 0', () => {
    for (const [raw, method] of [
      ['HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n', 'HEAD'],
      ['HTTP/1.1 204 No Content\r\n\r\n', 'DELETE'],
      ['HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n', 'GET'],
      ['HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n', 'GET'],
    ] as const) {
      const { p, seen } = parser();
      p.start(method);
      p.execute(Buffer.from(raw));
      expect(seen.done).toBe(1);
      expect(seen.body).toBe('');
      expect(p.done).toBe(true);
      expect(p.extraBytes).toBe(false);
    }
  });

  it('reads a body without framing until the upstream closes, and never reuses that connection', () => {
    const { p, seen } = parser();
    p.start('GET');
    p.execute(Buffer.from('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\npart one, '));
    p.execute(Buffer.from('part two'));
    expect(seen.done).toBe(0);
    expect(seen.heads[0]!.keepAlive).toBe(false);
    expect(p.finish()).toBe(true);
    expect(seen.body).toBe('part one, part two');
    expect(seen.done).toBe(1);
  });

  it('says a response cut short by a close is incomplete', () => {
    const { p, seen } = parser();
    p.start('GET');
    p.execute(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc'));
    expect(p.finish()).toBe(false);
    expect(seen.done).toBe(0);
    const fresh = parser();
    fresh.p.start('GET');
    expect(fresh.p.finish()).toBe(false);
    expect(fresh.p.received).toBe(false);
  });

  it('marks keep-alive off for Connection: close and HTTP/1.0, and collects Connection tokens', () => {
    const { p, seen } = parser();
    p.start('GET');
    p.execute(Buffer.from('HTTP/1.1 200 OK\r\nConnection: close, X-Internal\r\nContent-Length: 0\r\n\r\n'));
    expect(seen.heads[0]!.keepAlive).toBe(false);
    expect([...seen.heads[0]!.connection]).toEqual(['close', 'x-internal']);
    const old = parser();
    old.p.start('GET');
    old.p.execute(Buffer.from('HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n'));
    expect(old.seen.heads[0]!.keepAlive).toBe(false);
  });

  it('flags bytes after the end of a response (the connection must not be reused)', () => {
    const { p, seen } = parser();
    p.start('GET');
    p.execute(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n'));
    expect(seen.body).toBe('ok');
    expect(p.extraBytes).toBe(true);
    const later = parser();
    later.p.start('GET');
    later.p.execute(Buffer.from('HTTP/1.1 204 No Content\r\n\r\n'));
    later.p.execute(Buffer.from('x'));
    expect(later.p.extraBytes).toBe(true);
  });

  it('refuses ambiguous or malformed framing instead of guessing', () => {
    const cases: Array<[string, RegExp, string?]> = [
      ['HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n', /both content-length and transfer-encoding/],
      ['HTTP/1.1 200 OK\r\nTransfer-Encoding:\r\n\r\nbody', /empty transfer-encoding/],
      ['HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, ,chunked\r\n\r\n0\r\n\r\n', /empty transfer-encoding/],
      ['HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n', /conflicting content-length/],
      ['HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 005\r\n\r\n', /duplicate content-length/],
      ['HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n', /invalid content-length/],
      ['HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\n', /invalid content-length/],
      ['HTTP/1.1 200 OK\r\nContent-Length: 0x10\r\n\r\n', /invalid content-length/],
      ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n', /chunked applied twice/],
      ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', /invalid chunk size/],
      ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n', /invalid chunk size/],
      ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n 5\r\n', /invalid chunk size/],
      ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffff\r\n', /invalid chunk size/],
      ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nokXX', /chunk not followed by CRLF/],
      ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\nok\r\n', /bare LF/],
      ['HTTP/1.1 200 OK\nContent-Length: 0\n\n', /bare LF/],
      ['HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\nContent-Length: 0\r\n\r\n', /obsolete line folding/],
      ['HTTP/1.1 200 OK\r\nX-A : 1\r\nContent-Length: 0\r\n\r\n', /invalid header field/],
      ['HTTP/1.1 200 OK\r\nX-A: a\nB: b\r\nContent-Length: 0\r\n\r\n', /invalid header field/],
      ['HTTP/1.1 200 OK\r\nX-A: a\rB\r\nContent-Length: 0\r\n\r\n', /invalid header field/],
      ['HTTP/1.1 200 OK\r\nX-A: a\x00b\r\nContent-Length: 0\r\n\r\n', /invalid header field/],
      ['HTTP/1.1 200 OK\r\n\x00: x\r\n\r\n', /invalid header field/],
      ['HTTP/2 200\r\n\r\n', /invalid status line/],
      ['HTTP/1.1 20 OK\r\n\r\n', /invalid status line/],
      ['HTTP/1.1 200 OK\x01\r\n\r\n', /invalid status line/],
      ['http/1.1 200 OK\r\n\r\n', /invalid status line/],
      ['HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n', /unexpected protocol switch/],
      [`HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(70_000)}\r\n\r\n`, /response head too large/],
      ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nBad Trailer\r\n\r\n', /invalid trailer field/],
    ];
    for (const [raw, error] of cases) expect(parseError(raw)).toMatch(error);
  });

  it('refuses an endless head or chunk-size line without buffering it all', () => {
    const { p } = parser(1024);
    p.start('GET');
    p.execute(Buffer.from('HTTP/1.1 200 OK\r\n'));
    expect(() => p.execute(Buffer.from(`X-A: ${'a'.repeat(2000)}`))).toThrow(/response head too large/);
    const chunks = parser();
    chunks.p.start('GET');
    chunks.p.execute(Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'));
    expect(() => chunks.p.execute(Buffer.from('1'.repeat(5000)))).toThrow(/line too long/);
  });

  it('treats an unknown transfer coding as delimited by the close', () => {
    const { p, seen } = parser();
    p.start('GET');
    p.execute(Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nzzz'));
    expect(seen.heads[0]).toMatchObject({ chunked: false, keepAlive: false });
    expect(p.finish()).toBe(true);
    expect(seen.body).toBe('zzz');
  });

  it('is reusable for the next response on the same connection, and stops after abort()', () => {
    const { p, seen } = parser();
    for (let i = 0; i < 3; i++) {
      p.start('GET');
      p.execute(Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n${i}`));
    }
    expect(seen.body).toBe('012');
    expect(seen.done).toBe(3);
    p.start('GET');
    p.execute(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab'));
    p.abort();
    p.execute(Buffer.from('cdefgh'));
    expect(seen.body).toBe('012ab');
  });
});

describe('ResponseParser: the answer to an upgrade request', () => {
  const switched =
    'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n';

  it('reads a 101 head however the bytes are split, and hands over the bytes after it (another protocol)', () => {
    const bytes = Buffer.from(`${switched}\x81\x05hello`, 'latin1');
    for (let cut = 0; cut <= bytes.length; cut++) {
      const heads: ResponseHead[] = [];
      const rest: string[] = [];
      const p = new ResponseParser({
        head: (h) => heads.push(h),
        body: () => undefined,
        done: () => undefined,
        switched: (r) => rest.push(r.toString('latin1')),
      });
      p.start('GET', true);
      p.execute(bytes.subarray(0, cut));
      p.execute(bytes.subarray(cut));
      expect(heads.map((h) => [h.status, h.headers.length, [...h.connection]])).toEqual([[101, 6, ['upgrade']]]);
      // What came after the head in the read that completed it; later reads are not the parser's.
      expect(rest).toEqual([
        cut < switched.length ? bytes.subarray(switched.length).toString('latin1') : bytes.subarray(switched.length, cut).toString('latin1'),
      ]);
    }
  });

  it('skips interim answers before the 101, and parses any other final answer as a response', () => {
    const heads: number[] = [];
    let body = '';
    let done = 0;
    const p = new ResponseParser({ head: (h) => heads.push(h.status), body: (c) => (body += c.toString()), done: () => done++, switched: () => undefined });
    p.start('GET', true);
    p.execute(Buffer.from('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 403 Forbidden\r\nContent-Length: 4\r\n\r\nnope'));
    expect([heads, body, done]).toEqual([[403], 'nope', 1]);
  });

  it('refuses a 101 to a request that did not ask to upgrade, and a malformed 101 head', () => {
    expect(parseError(switched)).toMatch(/unexpected protocol switch/);
    const { p } = parser();
    p.start('GET', true);
    expect(() => p.execute(Buffer.from('HTTP/1.1 101 Switching Protocols\r\nUpgrade : websocket\r\n\r\n'))).toThrow(UpstreamProtocolError);
  });
});
