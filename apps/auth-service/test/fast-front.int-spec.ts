import http from 'node:http';
import net from 'node:net';
import type { Registry } from '@gatehouse/observability';
import { expectEventually } from '@gatehouse/testing';
import { FastFront } from '../src/gateway/fast-front.js';
import {
  DOWN_HOST,
  HOST,
  countResponses,
  exchange,
  get,
  methodsOf,
  normalize,
  listenFront,
  startEchoUpstream,
  startTwins,
  type Twin,
} from './fast-front-harness.js';
import { onCleanup, rawConnection, runCleanups } from './proxy-harness.js';

/*
 * The fast front (src/gateway/fast-front.ts) against Node's server, the proven path: the same
 * gateway twice, one with the fast front and one without (`fastFront: false`), the same requests
 * on raw sockets. Every answer, every request the upstream receives, every decision logged and
 * the metrics must be the same, except what differs by nature (decision ids, dates, JWTs signed
 * a second apart). Then the handover: a connection whose requests leave the subset is answered
 * by Node's server from that request on, in order, refusals included.
 */

afterEach(runCleanups);

describe('the fast front answers as Node’s server does', () => {
  it('the same answers, upstream requests, decisions logged and metrics, on the fast path', async () => {
    const upstream = await startEchoUpstream();
    const { fast, slow, id, secret } = await startTwins(upstream.url);
    const creds = `CF-Access-Client-Id: ${id}\r\nCF-Access-Client-Secret: ${secret}\r\n`;
    const cases: Array<[string, string]> = [
      ['service-token headers', get('/a?b=c', `${creds}User-Agent: t\r\nAccept: */*\r\n`)],
      ['HEAD', get('/head', creds, HOST, 'HEAD')],
      ['a chunked response', get('/chunked', creds)],
      ['HEAD of a chunked response', get('/chunked', creds, HOST, 'HEAD')],
      ['204', get('/204', creds)],
      [
        'stripped and forged headers',
        get(
          '/x',
          `${creds}X-Forwarded-For: 1.2.3.4\r\nCf-Connecting-IP: 1.1.1.1\r\nX-Gatehouse-Token-Id: forged\r\nForwarded: for=x\r\nX_Forwarded_Host: evil\r\nCf-Access-Jwt-Assertion: forged\r\n`,
        ),
      ],
      ['a canonical path', get('/a/./b/../c//d', creds)],
      ['an encoded dot segment', get('/a/%2e%2e/b', creds)],
      ['a path override header', get('/x', `${creds}X-Original-URL: /admin\r\n`)],
      ['no credentials', get('/x')],
      ['wrong secret', get('/x', `CF-Access-Client-Id: ${id}\r\nCF-Access-Client-Secret: wrong\r\n`)],
      ['a malformed JWT cookie', get('/x', 'Cookie: CF_Authorization=not-a-jwt\r\n')],
      ['an unknown host', get('/x', creds, 'nobody.example.com')],
      ['an upstream that is down', get('/x', creds, DOWN_HOST)],
      ['keep-alive', get('/k', `${creds}Connection: keep-alive\r\n`)],
      ['DELETE and OPTIONS', get('/d', creds, HOST, 'DELETE') + get('/o', creds, HOST, 'OPTIONS')],
      ['pipelined', get('/p1', creds) + get('/chunked', creds) + get('/p3', creds, HOST, 'HEAD') + get('/p4')],
    ];
    for (const [what, bytes] of cases) {
      const expected = methodsOf(bytes).length;
      upstream.seen.length = 0;
      const slowText = await exchange(slow.port, bytes, expected);
      const slowSeen = upstream.seen.splice(0);
      const fastText = await exchange(fast.port, bytes, expected);
      const fastSeen = upstream.seen.splice(0);
      expect({ what, answer: normalize(fastText), upstream: fastSeen.map(normalize) }).toEqual({
        what,
        answer: normalize(slowText),
        upstream: slowSeen.map(normalize),
      });
    }
    // With a JWT cookie, as a browser sends it after the exchange.
    const first = await exchange(fast.port, get('/', creds), 1);
    await exchange(slow.port, get('/', creds), 1);
    const jwt = /CF_Authorization=([^;]+)/.exec(first)![1]!;
    const cookie = get('/cookie', `Cookie: a=b; CF_Authorization=${jwt}\r\n`);
    const fastCookie = await exchange(fast.port, cookie, 1);
    expect(normalize(fastCookie)).toEqual(normalize(await exchange(slow.port, cookie, 1)));
    expect(fastCookie).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    // All of it on the fast path; the same decisions logged and the same series counted.
    expect(fast.gateway.front.handedOver).toBe(0);
    // (In the same order but for pipelined requests, which Node's server authenticates all at once.)
    const logged = (t: Twin) => t.decisions.map((d) => normalize(JSON.stringify(d))).sort();
    expect(logged(fast)).toEqual(logged(slow));
    const counted = async (r: Registry) =>
      (await r.metrics())
        .split('\n')
        .filter((l) => /^gatehouse_gateway_(decisions_total|upstream_errors_total|request_duration_seconds_count|added_seconds_count)/.test(l));
    expect(await counted(fast.registry)).toEqual(await counted(slow.registry));
    expect((await counted(fast.registry)).length).toBeGreaterThan(3);
  });

  it('a client that goes away mid-exchange: the upstream exchange is abandoned, the next request is served', async () => {
    const upstream = await startEchoUpstream();
    const { fast, id, secret } = await startTwins(upstream.url);
    const creds = `CF-Access-Client-Id: ${id}\r\nCF-Access-Client-Secret: ${secret}\r\n`;
    const conn = rawConnection(fast.port, get('/slow', creds));
    await expectEventually(() => expect(upstream.seen.some((s) => s.startsWith('GET /slow'))).toBe(true));
    conn.socket.destroy();
    await expectEventually(() => expect(fast.gateway.upstreams.idleCount()).toBe(0));
    expect(await exchange(fast.port, get('/after', creds), 1)).toMatch(/^HTTP\/1\.1 200 OK\r\n[^]*GET \/after/);
  });
});

describe('the handover: from the first request outside the subset, Node’s server answers', () => {
  const outsideRequests: Array<[string, string]> = [
    ['a chunked body', `POST /chunked-body HTTP/1.1\r\nHost: ${HOST}\r\nCRED\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n`],
    ['a Content-Length body', `POST /cl-body HTTP/1.1\r\nHost: ${HOST}\r\nCRED\r\nContent-Length: 2\r\n\r\nxy`],
    ['obs-fold', `GET /folded HTTP/1.1\r\nHost: ${HOST}\r\nCRED\r\nX-A: a\r\n b\r\n\r\n`],
    [
      'an upgrade (not tunnelled: h2c)',
      `GET /h2c HTTP/1.1\r\nHost: ${HOST}\r\nCRED\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n`,
    ],
    ['an access endpoint', `GET /cdn-cgi/access/health HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`],
    ['a repeated header', `GET /twice HTTP/1.1\r\nHost: ${HOST}\r\nCRED\r\nX-A: 1\r\nX-A: 2\r\n\r\n`],
    ['no Host (Node refuses it)', `GET /nohost HTTP/1.1\r\nCRED\r\n\r\n`],
  ];

  /**
   * What a connection whose requests leave the subset at `rest` must be answered: the answer to
   * `first` (a request of the subset), then what Node's server answers to `rest` on a connection
   * of its own.
   */
  async function expectedAnswer(slow: Twin, upstream: { seen: string[] }, first: string, rest: string, restAnswers: number) {
    upstream.seen.length = 0;
    const text = normalize(await exchange(slow.port, first, 1)) + normalize(await exchange(slow.port, rest, restAnswers));
    return { text, seen: upstream.seen.splice(0).map(normalize) };
  }

  it.each(outsideRequests)('a fast request, then %s, then a fast one: answered in order, the rest as Node answers it', async (_what, outside) => {
    const upstream = await startEchoUpstream();
    const { fast, slow, id, secret } = await startTwins(upstream.url);
    const creds = `CF-Access-Client-Id: ${id}\r\nCF-Access-Client-Secret: ${secret}`;
    const first = get('/first', `${creds}\r\n`);
    const rest = outside.replace('CRED', creds) + get('/third', `${creds}\r\n`);
    const restAnswers = countResponses(
      await exchange(slow.port, rest, 2),
      methodsOf(rest).map((m) => m === 'HEAD'),
    );
    const expected = await expectedAnswer(slow, upstream, first, rest, restAnswers);
    for (const split of [false, true]) {
      upstream.seen.length = 0;
      let fastText: string;
      if (split) {
        // The fast request answered before the rest is even sent.
        const conn = rawConnection(fast.port, first);
        await expectEventually(() => expect(countResponses(conn.received())).toBe(1));
        conn.socket.write(rest);
        await Promise.race([conn.closed, expectEventually(() => expect(countResponses(conn.received())).toBeGreaterThanOrEqual(1 + restAnswers))]);
        await new Promise((r) => setTimeout(r, 30));
        fastText = conn.received();
        conn.socket.destroy();
      } else fastText = await exchange(fast.port, first + rest, 1 + restAnswers);
      expect({ split, answer: normalize(fastText), upstream: upstream.seen.splice(0).map(normalize) }).toEqual({
        split,
        answer: expected.text,
        upstream: expected.seen,
      });
    }
    expect(fast.gateway.front.handedOver).toBe(2);
  });

  const smuggling: Array<[string, string]> = [
    [
      'CL and TE',
      `POST / HTTP/1.1\r\nHost: ${HOST}\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`,
    ],
    [
      'two Content-Lengths',
      `POST / HTTP/1.1\r\nHost: ${HOST}\r\nContent-Length: 0\r\nContent-Length: 44\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`,
    ],
    ['a bare LF', `GET / HTTP/1.1\r\nHost: ${HOST}\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`],
    ['a space before the colon', `POST / HTTP/1.1\r\nHost: ${HOST}\r\nContent-Length : 44\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`],
    ['a head too large', `GET / HTTP/1.1\r\nHost: ${HOST}\r\nCookie: ${'a'.repeat(70 * 1024)}\r\n\r\n`],
  ];

  it.each(smuggling)('%s: the same refusal as before, first or after a fast request, and nothing smuggled', async (_what, attack) => {
    const upstream = await startEchoUpstream();
    const { fast, slow, id, secret } = await startTwins(upstream.url);
    const first = get('/first', `CF-Access-Client-Id: ${id}\r\nCF-Access-Client-Secret: ${secret}\r\n`);
    // Alone: exactly Node's answer.
    upstream.seen.length = 0;
    const slowText = await exchange(slow.port, attack, 1);
    const fastText = await exchange(fast.port, attack, 1);
    expect(normalize(fastText)).toEqual(normalize(slowText));
    expect(fastText).toMatch(/^HTTP\/1\.1 4\d\d /);
    expect(upstream.seen).toEqual([]);
    // Behind a fast request on the same connection: its answer, then the same refusal.
    const expected = await expectedAnswer(slow, upstream, first, attack, 1);
    expect(normalize(await exchange(fast.port, first + attack, 2))).toEqual(expected.text);
    expect(upstream.seen.splice(0).map(normalize)).toEqual(expected.seen);
    expect(expected.seen.join('')).not.toContain('/smuggled');
    expect(fast.gateway.front.handedOver).toBe(2);
  });

  it('a half-closed client: treated as Node treats it (what is not answered yet is abandoned), a head cut short as malformed', async () => {
    const upstream = await startEchoUpstream();
    const { fast, slow, id, secret } = await startTwins(upstream.url);
    const creds = `CF-Access-Client-Id: ${id}\r\nCF-Access-Client-Secret: ${secret}\r\n`;
    for (const bytes of [get('/a', creds), get('/a', creds) + get('/b', creds), get('/a', creds) + 'GET /b HTTP/1.1\r\nHo', 'GET /b HT']) {
      const slowText = await rawConnection(slow.port, bytes, { end: true }).closed;
      const fastText = await rawConnection(fast.port, bytes, { end: true }).closed;
      expect({ bytes: bytes.replace(/CF-Access[^\n]*\n/g, ''), answer: normalize(fastText) }).toEqual({
        bytes: bytes.replace(/CF-Access[^\n]*\n/g, ''),
        answer: normalize(slowText),
      });
    }
  });
});

describe('FastFront on its own (timeouts)', () => {
  async function startFront(options: { keepAliveTimeoutMs: number; headWaitMs: number }, answerAfterMs = 0) {
    const fallback = http.createServer((req, res) => res.end(`slow ${req.url}`));
    const front = new FastFront({
      fallback,
      serve: (req, res) => {
        const answer = () => {
          res.writeHead(200, ['Content-Length', String(5 + req.url.length)]);
          res.end(`fast ${req.url}`);
        };
        if (answerAfterMs > 0) setTimeout(answer, answerAfterMs);
        else answer();
      },
      malformed: (socket) => socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n'),
      ...options,
    });
    const port = await listenFront(front, fallback);
    return { port, front };
  }

  it('an idle connection is closed after the keep-alive timeout', async () => {
    const { port } = await startFront({ keepAliveTimeoutMs: 200, headWaitMs: 5_000 });
    const conn = rawConnection(port, 'GET /a HTTP/1.1\r\nHost: a\r\n\r\n');
    const t0 = Date.now();
    const text = await conn.closed;
    expect(text).toMatch(/fast \/a$/);
    expect(text).toContain('Keep-Alive: timeout=0');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(150);
  });

  it('an answer slower than the head wait and the keep-alive timeout is given; the keep-alive timeout runs from the answer', async () => {
    // Neither timeout applies while a request is being answered.
    const { port, front } = await startFront({ keepAliveTimeoutMs: 150, headWaitMs: 100 }, 400);
    const conn = rawConnection(port, 'GET /a HTTP/1.1\r\nHost: a\r\n\r\n');
    await expectEventually(() => expect(conn.received()).toMatch(/fast \/a$/), { timeoutMs: 2_000 });
    // The second request is answered as late, after the keep-alive timeout has run out twice.
    conn.socket.write('GET /b HTTP/1.1\r\nHost: a\r\n\r\n');
    const t0 = Date.now();
    await expectEventually(() => expect(conn.received()).toMatch(/fast \/b$/), { timeoutMs: 2_000 });
    const answered = Date.now();
    expect(answered - t0).toBeGreaterThanOrEqual(380);
    await conn.closed;
    expect(Date.now() - answered).toBeGreaterThanOrEqual(100);
    expect(front.handedOver).toBe(0);
  });

  it('a head that does not complete in time goes to Node’s server, which answers it once complete', async () => {
    const { port, front } = await startFront({ keepAliveTimeoutMs: 5_000, headWaitMs: 100 });
    const conn = rawConnection(port, 'GET /late HTTP/1.1\r\nHost: a\r\nX-A: ');
    await expectEventually(() => expect(front.handedOver).toBe(1));
    conn.socket.write('b\r\n\r\n');
    await expectEventually(() => expect(conn.received()).toMatch(/slow \/late$/));
  });

  it('a head that trickles in byte by byte is handed over at the deadline, not kept by each read', async () => {
    const { port, front } = await startFront({ keepAliveTimeoutMs: 5_000, headWaitMs: 200 });
    const conn = rawConnection(port, 'GET /drip HTTP/1.1\r\nHost: a\r\n');
    const timer = setInterval(() => conn.socket.write('X-A: b\r\n'), 50);
    onCleanup(() => clearInterval(timer));
    await expectEventually(() => expect(front.handedOver).toBe(1), { timeoutMs: 2_000 });
  });

  it('a head that comes in many small pieces goes to Node’s server (parsed once, not again for each piece), which answers it', async () => {
    const { port, front } = await startFront({ keepAliveTimeoutMs: 5_000, headWaitMs: 5_000 });
    const head = `GET /pieces HTTP/1.1\r\nHost: a\r\nX-A: ${'b'.repeat(100)}\r\n\r\n`;
    const socket = net.connect(port, '127.0.0.1');
    socket.setNoDelay(true);
    onCleanup(() => void socket.destroy());
    let received = '';
    socket.on('data', (d: Buffer) => (received += d.toString('latin1')));
    await new Promise((resolve) => socket.once('connect', resolve));
    for (const ch of head) {
      socket.write(ch);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    await expectEventually(() => expect(received).toMatch(/slow \/pieces$/));
    expect(front.handedOver).toBe(1);
  });

  it('a silent connection goes to Node’s server after the head wait (whose request timeout applies from there)', async () => {
    const { port, front } = await startFront({ keepAliveTimeoutMs: 5_000, headWaitMs: 100 });
    const socket = net.connect(port, '127.0.0.1');
    onCleanup(() => void socket.destroy());
    await expectEventually(() => expect(front.handedOver).toBe(1));
  });

  it('a request cut short by the end of input gets the malformed answer', async () => {
    const { port } = await startFront({ keepAliveTimeoutMs: 5_000, headWaitMs: 5_000 });
    const conn = rawConnection(port, 'GET /a HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\nX');
    await expectEventually(() => expect(conn.received()).toMatch(/fast \/a$/));
    conn.socket.end();
    expect(await conn.closed).toMatch(/fast \/aHTTP\/1\.1 400 Bad Request/);
  });
});
