import type http from 'node:http';
import type net from 'node:net';
import { expectEventually } from '@gatehouse/testing';
import {
  ADMIN_PREFIX,
  DOWN_HOST,
  HOST,
  get,
  methodsOf,
  normalize,
  startEchoUpstream,
  startTwins,
  statusesOf,
  type EchoRequest,
  type EchoUpstream,
  type Twin,
} from './fast-front-harness.js';
import { appOf } from '../src/replica/replica.fixture.js';
import { MAX_PIPELINED_REQUESTS } from '../src/gateway/server.js';
import { rawConnection, runCleanups, startHttpUpstreamServer } from './proxy-harness.js';

/*
 * Hostile requests as the world sends them: raw bytes on a socket, each case on its own
 * connection, to one gateway with the fast front and to the same gateway without it (Node's
 * server only), both in front of the same echo upstream, whose pooled connections every case
 * shares. Each case states its whole outcome: the status of every answer, whether the gateway
 * closes the connection after them, and exactly which requests the upstream received from that
 * connection. The two fronts must answer byte for byte alike (decision ids, dates, JWTs aside).
 *
 * Which upstream request came from which connection: each connection has a source address of its
 * own (127.77.<case>.1 for the fast front, .2 for Node's server), which the gateway puts in
 * X-Forwarded-For; no client can choose that header. So a request the upstream got that no case
 * expects (smuggled inside another's bytes, or riding a pooled connection) fails the table, as does
 * any request that breaks the properties every forwarded request must have (upstreamProperties):
 * the gateway's own JWT asserted, no client credential (CF-Access-Client-Id/-Secret, cf-access-token,
 * a CF_Authorization cookie), nothing the upstream's parser (llhttp) refuses. A stricter
 * application on the same host (HOST/admin, which admits another token only) has an upstream of
 * its own that must never receive anything.
 *
 * The cases run concurrently (jest's it.concurrent, a few at a time), each with its own timeout.
 */

afterAll(runCleanups);

let upstream: EchoUpstream;
let adminUpstream: EchoUpstream;
let fast: Twin;
let slow: Twin;
/** What the placeholders of the cases' bytes stand for (the token's headers, its JWT…), once known. */
const filled = new Map<string, string>();

beforeAll(async () => {
  upstream = await startEchoUpstream();
  adminUpstream = await startEchoUpstream();
  const twins = await startTwins(upstream.url, { adminUpstreamUrl: adminUpstream.url });
  ({ fast, slow } = twins);
  const creds = `CF-Access-Client-Id: ${twins.id}\r\nCF-Access-Client-Secret: ${twins.secret}\r\n`;
  filled.set(C, creds);
  filled.set(ID, `CF-Access-Client-Id: ${twins.id}\r\n`);
  filled.set(WRONG, `CF-Access-Client-Id: ${twins.id}\r\nCF-Access-Client-Secret: wrong\r\n`);
  filled.set(LOWER, `cf-access-client-id: ${twins.id}\r\ncf-access-client-secret: ${twins.secret}\r\n`);
  const first = rawConnection(fast.port, get('/', creds), { localAddress: '127.77.255.1' });
  await expectEventually(() => expect(first.received()).toMatch(/CF_Authorization=([^;]+)/));
  filled.set(JWT, /CF_Authorization=([^;]+)/.exec(first.received())![1]!);
  first.socket.destroy();
  await expectEventually(() => expect(upstream.requests).toHaveLength(1));
  upstream.requests.length = 0;
});

// ---------------------------------------------------------------------------------------------
// How cases are written.

/** Placeholders in a case's bytes, filled once the gateways run: the token's headers, its JWT. */
const C = '{{CREDS}}';
const JWT = '{{JWT}}';
/** Its client id header alone; its headers with a wrong secret; its headers in lower case. */
const ID = '{{ID}}';
const WRONG = '{{WRONG}}';
const LOWER = '{{LOWER}}';
const H = `Host: ${HOST}\r\n`;

/** A raw request: its line, headers (CRLF-terminated lines, placeholders allowed), body. */
const req = (method: string, target: string, headers = `${H}${C}`, body = '', version = 'HTTP/1.1') =>
  `${method} ${target} ${version}\r\n${headers}\r\n${body}`;
/** A request of the subset with the token's credentials: answered 200 by the upstream, which gets it as `GET <path>`. */
const ok = (path: string) => req('GET', path);
/** What comes after a refusal on the same connection, to see whether the gateway read on. */
const AFTER = ok('/after');
const clPost = (path: string, body: string, extra = '') => req('POST', path, `${H}${C}${extra}Content-Length: ${body.length}\r\n`, body);
const chunkedPost = (path: string, chunks: string, extra = '') => req('POST', path, `${H}${C}${extra}Transfer-Encoding: chunked\r\n`, chunks);
/** A request hidden in another's bytes (it has no credentials: it must not reach the upstream whatever they are). */
const SMUGGLED = `GET /smuggled HTTP/1.1\r\n${H}\r\n`;

/** What a client does on its connection: write bytes, wait, half-close. */
type Step = string | { wait: number } | { end: true };
const END: Step = { end: true };
/** `text` one byte per write, `ms` apart. */
const trickle = (text: string, ms: number): Step[] => Array.from({ length: text.length }, (_, k): Step[] => [text[k]!, { wait: ms }]).flat();

interface Outcome {
  /** The status of every answer, in order (interim 100 included). */
  answers: number[];
  /** The gateway closes the connection after them; false: it stays open for the next request. */
  closed: boolean;
  /** The requests the upstream received from this connection, as `METHOD target`, in order. */
  upstream: string[];
  /** More about those requests. */
  check?: (requests: EchoRequest[]) => void;
  /** Access decisions the gateway logged for this connection (checked where given). */
  decisions?: number;
}

interface HostileCase {
  name: string;
  send: Step[];
  expect: Outcome;
}

/** `answers`, the connection kept open, `upstream` received. */
const open = (answers: number[], up: string[] = [], check?: Outcome['check']): Outcome => ({ answers, closed: false, upstream: up, check });
const closed = (answers: number[], up: string[] = [], check?: Outcome['check']): Outcome => ({ answers, closed: true, upstream: up, check });

const valuesOf = (r: EchoRequest, name: string): string[] => {
  const values: string[] = [];
  for (let i = 0; i < r.rawHeaders.length; i += 2) if (r.rawHeaders[i]!.toLowerCase() === name) values.push(r.rawHeaders[i + 1]!);
  return values;
};
const namesOf = (r: EchoRequest): string[] => r.rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
/** The one request's header `name`. */
const header = (name: string, expected: string[]) => (rs: EchoRequest[]) => expect(valuesOf(rs[0]!, name)).toEqual(expected);

// ---------------------------------------------------------------------------------------------
// The table.

const g = (group: string, cases: Array<[string, Step[] | string, Outcome]>): HostileCase[] =>
  cases.map(([name, send, outcome]) => ({ name: `${group}: ${name}`, send: typeof send === 'string' ? [send] : send, expect: outcome }));

const CASES: HostileCase[] = [
  ...g('framing', [
    [
      'Content-Length and Transfer-Encoding',
      req('POST', '/', `${H}${C}Content-Length: 4\r\nTransfer-Encoding: chunked\r\n`, `0\r\n\r\n${SMUGGLED}`),
      closed([400]),
    ],
    [
      'Transfer-Encoding then Content-Length',
      req('POST', '/', `${H}${C}Transfer-Encoding: chunked\r\nContent-Length: 4\r\n`, `0\r\n\r\n${SMUGGLED}`),
      closed([400]),
    ],
    ['two equal Content-Lengths', req('POST', '/', `${H}${C}Content-Length: 3\r\nContent-Length: 3\r\n`, 'abc'), closed([400])],
    ['two different Content-Lengths', req('POST', '/', `${H}${C}Content-Length: 0\r\nContent-Length: ${SMUGGLED.length}\r\n`, SMUGGLED), closed([400])],
    ['a Content-Length list', req('POST', '/', `${H}${C}Content-Length: 3, 3\r\n`, 'abc'), closed([400])],
    ['a signed Content-Length', req('POST', '/', `${H}${C}Content-Length: +3\r\n`, 'abc'), closed([400])],
    ['a Content-Length past 2^64', req('POST', '/', `${H}${C}Content-Length: 99999999999999999999\r\n`, 'abc'), closed([400])],
    [
      'a Content-Length with leading zeros: forwarded normalised',
      req('POST', '/zeros', `${H}${C}Content-Length: 003\r\n`, 'abc') + AFTER,
      open([200, 200], ['POST /zeros', 'GET /after'], (rs) => expect([valuesOf(rs[0]!, 'content-length'), rs[0]!.body]).toEqual([['3'], 'abc'])),
    ],
    [
      'bytes after a body are the next request, judged on their own',
      req('POST', '/short', `${H}${C}Content-Length: 3\r\n`, `abc${SMUGGLED}`),
      open([200, 401], ['POST /short'], (rs) => expect(rs[0]!.body).toBe('abc')),
    ],
    ['Transfer-Encoding: chunked, identity', req('POST', '/', `${H}${C}Transfer-Encoding: chunked, identity\r\n`, '0\r\n\r\n'), closed([400])],
    ['Transfer-Encoding: identity', req('POST', '/', `${H}${C}Transfer-Encoding: identity\r\n`, 'abc'), closed([400])],
    [
      'Transfer-Encoding: gzip, chunked (a coding Node does not decode)',
      req('POST', '/', `${H}${C}Transfer-Encoding: gzip, chunked\r\n`, '3\r\nabc\r\n0\r\n\r\n') + AFTER,
      open([400, 200], ['GET /after']),
    ],
    ['Transfer-Encoding: xchunked', req('POST', '/', `${H}${C}Transfer-Encoding: xchunked\r\n`, '0\r\n\r\n'), closed([400])],
    ['Transfer-Encoding twice', req('POST', '/', `${H}${C}Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n`, '0\r\n\r\n'), closed([400])],
    [
      'Transfer-Encoding: Chunked (any case): re-chunked by the gateway',
      req('POST', '/case', `${H}${C}Transfer-Encoding: Chunked\r\n`, '3\r\nabc\r\n0\r\n\r\n') + AFTER,
      open([200, 200], ['POST /case', 'GET /after'], (rs) => expect([valuesOf(rs[0]!, 'transfer-encoding'), rs[0]!.body]).toEqual([['chunked'], 'abc'])),
    ],
    ['HTTP/1.0 with Transfer-Encoding', req('POST', '/', `${H}${C}Transfer-Encoding: chunked\r\n`, '0\r\n\r\n', 'HTTP/1.0'), closed([400])],
    ['a chunk size that is not hex', chunkedPost('/', 'zz\r\nabc\r\n0\r\n\r\n'), closed([400])],
    ['a chunk size past 2^64', chunkedPost('/', 'FFFFFFFFFFFFFFFFFF\r\nabc\r\n0\r\n\r\n'), closed([400])],
    ['a chunk size after a space', chunkedPost('/', ' 3\r\nabc\r\n0\r\n\r\n'), closed([400])],
    ['a chunk longer than its size', chunkedPost('/', `3\r\nabc${SMUGGLED}\r\n0\r\n\r\n`), closed([400])],
    ['a chunk size ended by a bare LF', chunkedPost('/', '3\nabc\r\n0\r\n\r\n'), closed([400])],
    [
      'chunk extensions: not forwarded',
      chunkedPost('/ext', '3;name=value\r\nabc\r\n0;last\r\n\r\n') + AFTER,
      open([200, 200], ['POST /ext', 'GET /after'], (rs) => expect(rs[0]!.body).toBe('abc')),
    ],
    [
      'trailers: not forwarded',
      chunkedPost('/trailer', '3\r\nabc\r\n0\r\nX-Trailer: 1\r\nCF-Access-Client-Secret: x\r\n\r\n') + AFTER,
      open([200, 200], ['POST /trailer', 'GET /after'], (rs) => expect([rs[0]!.body, namesOf(rs[0]!).includes('x-trailer')]).toEqual(['abc', false])),
    ],
    [
      'a request inside a chunk is its body, nothing more',
      chunkedPost('/inner', `${SMUGGLED.length.toString(16)}\r\n${SMUGGLED}\r\n0\r\n\r\n`) + AFTER,
      open([200, 200], ['POST /inner', 'GET /after']),
    ],
    [
      'a GET with a body (CL.0): forwarded with it, on an upstream connection closed after it',
      req('GET', '/get-body', `${H}${C}Content-Length: ${SMUGGLED.length}\r\n`, SMUGGLED) + AFTER,
      open([200, 200], ['GET /get-body', 'GET /after'], (rs) => expect(valuesOf(rs[0]!, 'connection')).toEqual(['close'])),
    ],
  ]),
  ...g('header syntax', [
    ['obs-fold', req('GET', '/', `${H}${C}X-A: a\r\n b\r\n`) + AFTER, closed([400])],
    ['obs-fold of a framing header', req('POST', '/', `${H}${C}Content-Length: 0\r\n ${SMUGGLED.length}\r\n`, SMUGGLED), closed([400])],
    ['a bare LF between headers', `GET / HTTP/1.1\r\n${H}X-A: a\nTransfer-Encoding: chunked\r\n${C}\r\n0\r\n\r\n${SMUGGLED}`, closed([400])],
    ['a bare CR between headers', `GET / HTTP/1.1\r\n${H}X-A: a\rX-B: b\r\n${C}\r\n`, closed([400])],
    ['a request line ended by a bare LF', `GET / HTTP/1.1\n${H}${C}\r\n`, closed([400])],
    ['a space before the colon', req('POST', '/', `${H}${C}Content-Length : ${SMUGGLED.length}\r\n`, SMUGGLED), closed([400])],
    ['a tab before the colon', req('GET', '/', `${H}${C}X-A\t: a\r\n`), closed([400])],
    ['a NUL in a header name', req('GET', '/', `${H}${C}X-\0A: a\r\n`), closed([400])],
    ['a NUL in a header value', req('GET', '/', `${H}${C}X-A: a\0b\r\n`), closed([400])],
    ['a DEL in a header value', req('GET', '/', `${H}${C}X-A: a\x7fb\r\n`), closed([400])],
    ['a byte above 0x7f in a header name', req('GET', '/', `${H}${C}X-\xe9: a\r\n`), closed([400])],
    [
      'bytes above 0x7f in a header value: forwarded as they came',
      req('GET', '/high', `${H}${C}X-A: caf\xe9 \xff\r\n`) + AFTER,
      open([200, 200], ['GET /high', 'GET /after'], header('x-a', ['caf\xe9 \xff'])),
    ],
    ['a header line without a colon', req('GET', '/', `${H}${C}X-A a\r\n`), closed([400])],
    ['an empty header name', req('GET', '/', `${H}${C}: a\r\n`), closed([400])],
    ['a header value of 15 KiB (on the fast path)', req('GET', '/15k', `${H}${C}X-A: ${'a'.repeat(15 * 1024)}\r\n`), open([200], ['GET /15k'])],
    ['a head of 20 KiB (past the fast path, within Node’s limit)', req('GET', '/20k', `${H}${C}X-A: ${'a'.repeat(20 * 1024)}\r\n`), open([200], ['GET /20k'])],
    ['a head over 64 KiB', req('GET', '/', `${H}${C}Cookie: ${'a'.repeat(70 * 1024)}\r\n`), closed([431])],
    [
      '150 headers (past the fast path’s 100)',
      req('GET', '/many', `${H}${C}${Array.from({ length: 150 }, (_, i) => `X-H${i}: ${i}\r\n`).join('')}`),
      open([200], ['GET /many'], (rs) => expect(namesOf(rs[0]!).filter((n) => n.startsWith('x-h'))).toHaveLength(150)),
    ],
    [
      '2,100 headers, Content-Length last (past Node’s 2,000: refused, none dropped)',
      req('POST', '/2100', `${H}${C}${Array.from({ length: 2_100 }, (_, i) => `X-${i}: 1\r\n`).join('')}Content-Length: 3\r\n`, 'abc') + AFTER,
      closed([431]),
    ],
  ]),
  ...g('request line', [
    ['HTTP/0.9 (no Host: no application)', 'GET /\r\n\r\n', closed([404])],
    ['HTTP/0.9 followed by header lines: read as a request without keep-alive', `GET /\r\n${H}${C}\r\n`, closed([200], ['GET /'])],
    ['HTTP/0.9 with Transfer-Encoding', `POST /\r\n${H}${C}Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n${SMUGGLED}`, closed([400])],
    ['HTTP/0.9 with a Content-Length', `POST /nine-cl\r\n${H}${C}Content-Length: 3\r\n\r\nabc${SMUGGLED}`, closed([400])],
    ['HTTP/1.0 without Host: no application', req('GET', '/', C, '', 'HTTP/1.0'), closed([404])],
    ['HTTP/1.0: answered, then closed (what follows is not read)', req('GET', '/ten', `${H}${C}`, '', 'HTTP/1.0') + AFTER, closed([200], ['GET /ten'])],
    ['HTTP/1.0 refused: the refusal, then closed', req('GET', '/', H, '', 'HTTP/1.0') + AFTER, closed([401])],
    [
      'HTTP/1.0 keep-alive, a 204: the connection stays',
      req('GET', '/204', `${H}${C}Connection: keep-alive\r\n`, '', 'HTTP/1.0') + AFTER,
      open([204, 200], ['GET /204', 'GET /after']),
    ],
    [
      'HTTP/1.0 keep-alive, HEAD of an answer of unknown length: the connection stays',
      req('HEAD', '/chunked', `${H}${C}Connection: keep-alive\r\n`, '', 'HTTP/1.0') + AFTER,
      open([200, 200], ['HEAD /chunked', 'GET /after']),
    ],
    [
      'HTTP/1.0 keep-alive, an answer of unknown length: closed after it (no chunked coding to HTTP/1.0)',
      req('GET', '/chunked', `${H}${C}Connection: keep-alive\r\n`, '', 'HTTP/1.0') + AFTER,
      closed([200], ['GET /chunked']),
    ],
    [
      'HTTP/1.0 keep-alive and close: close wins, what follows is not read (RFC 9112 §9.6)',
      req('GET', '/ten-ka-close', `${H}${C}Connection: keep-alive, close\r\n`, '', 'HTTP/1.0') + AFTER,
      { ...closed([200], ['GET /ten-ka-close']), decisions: 1 },
    ],
    [
      'HTTP/1.0 close and keep-alive in two fields: close wins',
      req('GET', '/ten-close-ka', `${H}${C}Connection: close\r\nConnection: keep-alive\r\n`, '', 'HTTP/1.0') + AFTER,
      { ...closed([200], ['GET /ten-close-ka']), decisions: 1 },
    ],
    [
      'HTTP/1.0 keep-alive, then HTTP/1.1',
      req('GET', '/ten-ka', `${H}${C}Connection: keep-alive\r\n`, '', 'HTTP/1.0') + AFTER,
      open([200, 200], ['GET /ten-ka', 'GET /after']),
    ],
    ['HTTP/1.2', req('GET', '/', `${H}${C}`, '', 'HTTP/1.2'), closed([400])],
    ['HTTP/2 connection preface', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', closed([400])],
    ['a lower-case version', req('GET', '/', `${H}${C}`, '', 'http/1.1'), closed([400])],
    ['a lower-case method', req('get', '/'), closed([400])],
    ['an unknown method', req('FROB', '/'), closed([400])],
    [
      'two spaces in the request line: read as one (the gateway writes its own request line)',
      `GET  /two-spaces HTTP/1.1\r\n${H}${C}\r\n`,
      open([200], ['GET /two-spaces']),
    ],
    ['an empty line before the request line', `\r\nGET /empty-line HTTP/1.1\r\n${H}${C}\r\n`, open([200], ['GET /empty-line'])],
    ['a space before the first header', `GET / HTTP/1.1\r\n ${H}${C}\r\n`, closed([400])],
    ['a space inside the target', req('GET', '/a b'), closed([400])],
    ['a tab inside the target', req('GET', '/a\tb'), closed([400])],
    ['a NUL in the target', req('GET', '/a\0b'), closed([400])],
    ['a byte above 0x7f in the target', req('GET', '/caf\xe9') + AFTER, closed([400])],
    ['a target of 10 KiB', ok(`/${'t'.repeat(10 * 1024)}`), open([200], [`GET /${'t'.repeat(10 * 1024)}`])],
    ['absolute form', req('GET', `http://${HOST}/abs`) + AFTER, open([400, 200], ['GET /after'])],
    ['absolute form naming another host than Host', req('GET', `http://${DOWN_HOST}/abs`) + AFTER, open([400, 200], ['GET /after'])],
    ['authority form with CONNECT', req('CONNECT', `${HOST}:443`), closed([405])],
    ['authority form with GET', req('GET', `${HOST}:80`) + AFTER, closed([400])],
    [
      'absolute form, and a Host of another application',
      req('GET', `http://${HOST}/abs`, `Host: ${DOWN_HOST}\r\n${C}`) + AFTER,
      open([400, 200], ['GET /after']),
    ],
    ['asterisk form', req('OPTIONS', '*') + AFTER, open([400, 200], ['GET /after'])],
    ['a fragment', req('GET', '/x#frag') + AFTER, open([400, 200], ['GET /after'])],
    ['a control character in the query', req('GET', '/x?a=%00\x01') + AFTER, closed([400])],
  ]),
  ...g('paths against the stricter application on the same host', [
    ['its own path (sanity: refused)', ok(ADMIN_PREFIX) + AFTER, open([403, 200], ['GET /after'])],
    ['a dot-dot segment', ok(`/x/..${ADMIN_PREFIX}`) + AFTER, open([403, 200], ['GET /after'])],
    ['an encoded dot-dot segment', ok(`/x/%2e%2E${ADMIN_PREFIX}`) + AFTER, open([403, 200], ['GET /after'])],
    ['an encoded letter', ok('/%61dmin') + AFTER, open([403, 200], ['GET /after'])],
    ['upper case', ok('/ADMIN/x') + AFTER, open([403, 200], ['GET /after'])],
    ['a repeated slash', ok(`//${ADMIN_PREFIX}`) + AFTER, open([403, 200], ['GET /after'])],
    ['a suffix (`.json`)', ok(`${ADMIN_PREFIX}.json`) + AFTER, open([403, 200], ['GET /after'])],
    ['an encoded slash', ok(`/x%2F..%2F${ADMIN_PREFIX.slice(1)}`) + AFTER, open([400, 200], ['GET /after'])],
    ['an encoded backslash', ok(`/x%5C..%5C${ADMIN_PREFIX.slice(1)}`) + AFTER, open([400, 200], ['GET /after'])],
    ['a backslash', ok(`/x\\..\\${ADMIN_PREFIX.slice(1)}`) + AFTER, open([400, 200], ['GET /after'])],
    ['a path parameter', ok(`/.;${ADMIN_PREFIX}`) + AFTER, open([400, 200], ['GET /after'])],
    ['double encoding', ok(`/x/%252e%252e${ADMIN_PREFIX}`) + AFTER, open([400, 200], ['GET /after'])],
    ['an overlong UTF-8 dot', ok(`/x/%C0%AE%C0%AE${ADMIN_PREFIX}`) + AFTER, open([400, 200], ['GET /after'])],
    ['a full-width letter', ok('/%EF%BD%81dmin') + AFTER, open([400, 200], ['GET /after'])],
    ['an encoded NUL', ok(`${ADMIN_PREFIX}%00`) + AFTER, open([400, 200], ['GET /after'])],
    ['a climb above the root', ok(`/../..${ADMIN_PREFIX}`) + AFTER, open([400, 200], ['GET /after'])],
    ['a path override header', req('GET', '/x', `${H}${C}X-Original-URL: ${ADMIN_PREFIX}\r\n`) + AFTER, open([400, 200], ['GET /after'])],
    ['a longer name is not the prefix (sanity: the application’s own)', ok(`${ADMIN_PREFIX}x`), open([200], [`GET ${ADMIN_PREFIX}x`])],
    ['a dot-dot out of it: the canonical path is sent', ok(`${ADMIN_PREFIX}/../x/./y`), open([200], ['GET /x/y'])],
  ]),
  ...g('Host', [
    ['two equal Hosts', req('GET', '/', `${H}${H}${C}`) + AFTER, open([400, 200], ['GET /after'])],
    ['two different Hosts', req('GET', '/', `${H}Host: ${DOWN_HOST}\r\n${C}`) + AFTER, open([400, 200], ['GET /after'])],
    ['no Host', req('GET', '/', C), closed([400])],
    ['an empty Host', req('GET', '/', `Host: \r\n${C}`) + AFTER, open([404, 200], ['GET /after'])],
    ['a Host with user info', req('GET', '/', `Host: user@${HOST}\r\n${C}`) + AFTER, open([404, 200], ['GET /after'])],
    ['a Host with a look-alike letter (UTF-8)', req('GET', '/', `Host: \xd0\xb0pp.example.com\r\n${C}`) + AFTER, open([404, 200], ['GET /after'])],
    ['a Host with a NUL', req('GET', '/', `Host: app.example.com\0.evil\r\n${C}`), closed([400])],
    ['a Host list', req('GET', '/', `Host: ${HOST}, ${DOWN_HOST}\r\n${C}`) + AFTER, open([404, 200], ['GET /after'])],
    [
      'a Host in upper case with a trailing dot and a port',
      req('GET', '/host', `Host: APP.example.com.:8000\r\n${C}`),
      open([200], ['GET /host'], header('x-forwarded-host', ['APP.example.com.:8000'])),
    ],
    [
      'a forged X-Forwarded-Host',
      req('GET', '/xfh', `${H}${C}X-Forwarded-Host: ${DOWN_HOST}\r\n`),
      open([200], ['GET /xfh'], header('x-forwarded-host', [HOST])),
    ],
  ]),
  ...g('credentials and identity', [
    ['no credentials', req('GET', '/', H) + AFTER, open([401, 200], ['GET /after'])],
    ['a wrong secret', req('GET', '/', `${H}${WRONG}`) + AFTER, open([401, 200], ['GET /after'])],
    ['two client ids', req('GET', '/', `${H}${C}${ID}`) + AFTER, open([401, 200], ['GET /after'])],
    [
      'service-token headers in any case and spelling: none reaches the upstream',
      req('GET', '/spell', `${H}${LOWER}CF_Access_Client_Secret: x\r\nCf-Access-Token: x\r\n`),
      open([200], ['GET /spell']),
    ],
    [
      'a forged Cf-Access-Jwt-Assertion and identity headers',
      req('GET', '/forged', `${H}${C}Cf-Access-Jwt-Assertion: forged\r\nX-Gatehouse-Token-Id: forged\r\nCf-Access-Authenticated-User-Email: a@b\r\n`),
      open([200], ['GET /forged'], (rs) => expect(namesOf(rs[0]!).filter((n) => n.startsWith('x-gatehouse') || n.startsWith('cf-access-auth'))).toEqual([])),
    ],
    [
      'Connection naming Host and the gateway’s headers: none removed',
      req('GET', '/conn', `${H}${C}Connection: keep-alive, Host, Cf-Access-Jwt-Assertion, X-Forwarded-For\r\n`),
      open([200], ['GET /conn'], (rs) =>
        expect(namesOf(rs[0]!).filter((n) => ['host', 'cf-access-jwt-assertion', 'x-forwarded-for'].includes(n))).toHaveLength(3),
      ),
    ],
    [
      'service-token headers and a CF_Authorization cookie: that cookie is not forwarded, the others are',
      req('GET', '/cookie', `${H}${C}Cookie: a=1; CF_Authorization=${JWT}; b=2\r\nCookie: cf_authorization=x\r\nCookie: c=3\r\n`),
      open([200], ['GET /cookie'], header('cookie', ['a=1; b=2', 'c=3'])),
    ],
    [
      'service-token headers and CF_Authorization hidden from a `;` split (after a comma, a space) or named as PHP reads it: not forwarded',
      req(
        'GET',
        '/cookie-hidden',
        `${H}${C}Cookie: a=1, CF_Authorization=x; b=2\r\nCookie: c=3 CF_Authorization=x\r\nCookie: CF.Authorization=x; CF%5FAuthorization=x; CF+Authorization=x; d=4\r\n`,
      ),
      open([200], ['GET /cookie-hidden'], header('cookie', ['b=2', 'd=4'])),
    ],
    [
      'cookies changing between pipelined requests on one connection: each forwarded as its own request had it',
      [
        `a=1; CF_Authorization=${JWT}`,
        `a=1; CF_Authorization=${JWT}`,
        'b=2',
        '',
        `CF_Authorization=${JWT}; a=1`,
        `CF_Authorization=${JWT}`,
        'c=3; CF_Authorization=x',
      ]
        .map((cookie, i) => req('GET', `/cookies-${i}`, `${H}${C}Cookie: ${cookie}\r\n`))
        .join(''),
      open(
        [200, 200, 200, 200, 200, 200, 200],
        Array.from({ length: 7 }, (_, i) => `GET /cookies-${i}`),
        (rs) => expect(rs.map((r) => valuesOf(r, 'cookie'))).toEqual([['a=1'], ['a=1'], ['b=2'], [''], ['a=1'], [], ['c=3']]),
      ),
    ],
    [
      'the JWT cookie alone: admitted, the cookie not forwarded',
      req('GET', '/jwt', `${H}Cookie: CF_Authorization=${JWT}\r\n`),
      open([200], ['GET /jwt'], header('cookie', [])),
    ],
    [
      'the JWT cookie on the stricter application',
      req('GET', ADMIN_PREFIX, `${H}Cookie: CF_Authorization=${JWT}\r\n`) + AFTER,
      open([401, 200], ['GET /after']),
    ],
    ['a malformed JWT cookie', req('GET', '/', `${H}Cookie: CF_Authorization=not.a.jwt\r\n`) + AFTER, open([401, 200], ['GET /after'])],
  ]),
  ...g('protocol switches and expectations', [
    [
      'Upgrade: h2c: forwarded as a plain request, then closed',
      req('GET', '/h2c', `${H}${C}Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n`) + AFTER,
      closed([200], ['GET /h2c'], (rs) => expect(namesOf(rs[0]!).filter((n) => n === 'upgrade' || n === 'http2-settings')).toEqual([])),
    ],
    ['Upgrade: websocket without credentials', req('GET', '/ws', `${H}Connection: Upgrade\r\nUpgrade: websocket\r\n`) + AFTER, closed([401])],
    [
      'Upgrade: websocket to an upstream that does not switch: its answer, then closed',
      req('GET', '/ws', `${H}${C}Connection: Upgrade\r\nUpgrade: websocket\r\n`) + AFTER,
      closed([200], ['GET /ws']),
    ],
    ['Upgrade with a body', req('POST', '/up', `${H}${C}Connection: Upgrade\r\nUpgrade: websocket\r\nContent-Length: 3\r\n`, 'abc'), closed([400])],
    [
      'Expect: 100-continue: the gateway continues, the upstream gets no Expect',
      req('POST', '/expect', `${H}${C}Expect: 100-continue\r\nContent-Length: 3\r\n`, 'abc') + AFTER,
      open([100, 200, 200], ['POST /expect', 'GET /after'], (rs) => expect([namesOf(rs[0]!).includes('expect'), rs[0]!.body]).toEqual([false, 'abc'])),
    ],
    [
      'Connection: close, then a request: answered, the rest not read',
      req('GET', '/close', `${H}${C}Connection: close\r\n`) + AFTER,
      { ...closed([200], ['GET /close']), decisions: 1 },
    ],
    [
      'Connection: keep-alive, close (HTTP/1.1): close wins, the rest not read',
      req('GET', '/ka-close', `${H}${C}Connection: keep-alive, close\r\n`) + AFTER,
      { ...closed([200], ['GET /ka-close']), decisions: 1 },
    ],
    ['Connection: close, then garbage', req('GET', '/close-junk', `${H}${C}Connection: close\r\n`) + '\0\x01junk\r\n\r\n', closed([200], ['GET /close-junk'])],
    ['Connection: close on a POST, then a request', clPost('/close-post', 'abc', 'Connection: close\r\n') + AFTER, closed([200], ['POST /close-post'])],
    [
      'Expect: 100-continue without credentials: Node continues before the gateway refuses',
      req('POST', '/', `${H}Expect: 100-continue\r\nContent-Length: 3\r\n`, 'abc') + AFTER,
      open([100, 401, 200], ['GET /after']),
    ],
    ['Expect: something else', req('GET', '/', `${H}${C}Expect: the-unexpected\r\n`), open([417])],
    [
      'hop-by-hop headers: not forwarded',
      req('GET', '/hop', `${H}${C}TE: trailers\r\nTrailer: X\r\nProxy-Connection: keep-alive\r\nKeep-Alive: timeout=5\r\nProxy-Authorization: Basic eDp5\r\n`),
      open([200], ['GET /hop'], (rs) =>
        expect(namesOf(rs[0]!).filter((n) => ['te', 'trailer', 'proxy-connection', 'keep-alive', 'proxy-authorization'].includes(n))).toEqual([]),
      ),
    ],
  ]),
  ...g('connections', [
    ['three pipelined requests: in order', ok('/p1') + ok('/p2') + ok('/p3'), open([200, 200, 200], ['GET /p1', 'GET /p2', 'GET /p3'])],
    ['pipelined after a parse error: nothing more read', req('GET', '/', `${H}${C}X-A: a\r\n b\r\n`) + AFTER, closed([400])],
    ['pipelined after a refused path: read on', ok('/a%00') + AFTER, open([400, 200], ['GET /after'])],
    [
      'a head in pieces',
      [`GET /pie`, { wait: 20 }, `ces HTTP/1.1\r\nHo`, { wait: 20 }, `st: ${HOST}\r\n${C}`, { wait: 20 }, '\r\n'],
      open([200], ['GET /pieces']),
    ],
    [
      'a head trickled a byte at a time (slowloris: more reads than the fast path waits for)',
      [...trickle(`GET /drip HTTP/1.1\r\n${H}X-A: b\r\n`, 5), `${C}\r\n`],
      open([200], ['GET /drip']),
    ],
    ['a half-close after a whole request: its answer, then closed', [req('GET', '/', H), END], closed([401])],
    ['a half-close in the middle of a head', [`GET / HTTP/1.1\r\n${H}X-A`, END], closed([400])],
    ['a half-close in the middle of a body: the refusal, then malformed', [req('POST', '/', `${H}Content-Length: 10\r\n`, 'abc'), END], closed([401, 400])],
    [
      'a good request, a malformed one, a good one: the first answered, the refusal, nothing after',
      ok('/m1') + req('GET', '/m2', `${H}${C}X-A: a\r\n b\r\n`) + ok('/m3'),
      closed([200, 400], ['GET /m1']),
    ],
    [
      'a good request, then Content-Length and Transfer-Encoding: the first answered, the refusal, nothing smuggled',
      ok('/s1') + req('POST', '/', `${H}${C}Content-Length: 4\r\nTransfer-Encoding: chunked\r\n`, `0\r\n\r\n${SMUGGLED}`),
      closed([200, 400], ['GET /s1']),
    ],
    [
      'a request still at the upstream, a malformed one, then more bytes: its answer (504), then the refusal once',
      [ok('/slow') + req('GET', '/m2', `${H}${C}X-A: a\r\n b\r\n`), { wait: 200 }, 'more\r\n', { wait: 200 }, ok('/m3')],
      closed([504, 400], ['GET /slow']),
    ],
    ['an unknown host', req('GET', '/', `Host: nobody.example.com\r\n${C}`) + AFTER, open([404, 200], ['GET /after'])],
    ['an upstream that is down', req('GET', '/', `Host: ${DOWN_HOST}\r\n${C}`) + AFTER, open([502, 200], ['GET /after'])],
  ]),
];

// ---------------------------------------------------------------------------------------------
// Running a case.

/** The connections' source addresses: case `i` on the fast front (1) or Node's server (2). */
const addressOf = (i: number, front: 1 | 2) => `127.77.${i}.${front}`;
const ADDRESSES = /127\.77\.\d+\.[12]/g;

const fill = (text: string) => text.replace(/\{\{[A-Z]+\}\}/g, (p) => filled.get(p) ?? p);

/** What one connection was answered: the text, the statuses, whether the gateway closed it. */
async function attempt(port: number, c: HostileCase, localAddress: string): Promise<{ text: string; answers: number[]; closed: boolean }> {
  const steps = c.send.map((s) => (typeof s === 'string' ? fill(s) : s));
  const first = steps[0] as string;
  const conn = rawConnection(port, first, { localAddress, end: steps.length === 2 && steps[1] === END });
  let isClosed = false;
  void conn.closed.then(() => (isClosed = true));
  await new Promise<void>((resolve) => conn.socket.once('connect', resolve));
  for (const step of steps.slice(1)) {
    if (typeof step === 'string') conn.socket.write(Buffer.from(step, 'latin1'));
    else if ('end' in step) conn.socket.end();
    else await new Promise((r) => setTimeout(r, step.wait));
  }
  const sent = steps.filter((s) => typeof s === 'string').join('');
  const heads = methodsOf(sent).map((m) => m === 'HEAD');
  const want = c.expect.answers.length;
  await expectEventually(() => expect(isClosed || statusesOf(conn.received(), heads).length >= want).toBe(true), { timeoutMs: 4_000 });
  // Then: closed soon after (expected), or nothing more comes and the connection stays.
  if (c.expect.closed) await Promise.race([conn.closed, new Promise((r) => setTimeout(r, 1_000))]);
  else await new Promise((r) => setTimeout(r, 100));
  const text = conn.received();
  conn.socket.destroy();
  return { text, answers: statusesOf(text, heads), closed: isClosed };
}

/** What the upstream received from `address`, once it has the number of requests `count` (then nothing more). */
async function receivedFrom(address: string, count: number): Promise<EchoRequest[]> {
  const from = () => upstream.requests.filter((r) => valuesOf(r, 'x-forwarded-for')[0] === address);
  await expectEventually(() => expect(from().length).toBeGreaterThanOrEqual(count), { timeoutMs: 3_000 });
  await new Promise((r) => setTimeout(r, 50));
  return from();
}

/** What every request the upstream receives must be, whatever the client sent. */
function upstreamProperties(r: EchoRequest): void {
  const names = namesOf(r).map((n) => n.replace(/_/g, '-'));
  const problems: string[] = [];
  const asserted = valuesOf(r, 'cf-access-jwt-assertion');
  if (asserted.length !== 1 || !/^eyJ[\w-]+\.[\w-]+\.[\w-]+$/.test(asserted[0]!)) problems.push(`asserted JWT: ${JSON.stringify(asserted)}`);
  for (const n of names) if (n.startsWith('cf-') && n !== 'cf-ray' && n !== 'cf-access-jwt-assertion') problems.push(`client header ${n}`);
  // Any spelling an origin may read as that cookie (see withoutAccessCookie): a case, a separator or an escape away.
  if (valuesOf(r, 'cookie').some((v) => /cf(?:[^a-z0-9]|%[0-9a-f]{2})authorization/i.test(v))) problems.push('a CF_Authorization cookie');
  if (valuesOf(r, 'host').length !== 1) problems.push('not one Host');
  if (r.url.includes('smuggled')) problems.push('a smuggled request');
  if (valuesOf(r, 'x-forwarded-for').length !== 1) problems.push('not one X-Forwarded-For');
  expect({ request: `${r.method} ${r.url}`, problems }).toEqual({ request: `${r.method} ${r.url}`, problems: [] });
}

describe('hostile requests: the same answers on both fronts, and only authenticated requests upstream', () => {
  it.concurrent.each(CASES.map((c, i) => [c.name, c, i] as const))(
    '%s',
    async (_name, c, i) => {
      const [onFast, onNode] = await Promise.all([attempt(fast.port, c, addressOf(i, 1)), attempt(slow.port, c, addressOf(i, 2))]);
      const same = (t: string) => normalize(t).replace(ADDRESSES, 'ADDR');
      // Node's server is the reference; the fast front answers the same bytes.
      expect({ answers: onNode.answers, closed: onNode.closed }).toEqual({ answers: c.expect.answers, closed: c.expect.closed });
      expect(same(onFast.text)).toEqual(same(onNode.text));
      expect(onFast.closed).toBe(onNode.closed);
      for (const front of [1, 2] as const) {
        const received = await receivedFrom(addressOf(i, front), c.expect.upstream.length);
        expect({ front, upstream: received.map((r) => `${r.method} ${r.url}`) }).toEqual({ front, upstream: c.expect.upstream });
        received.forEach(upstreamProperties);
        c.expect.check?.(received);
        if (c.expect.decisions !== undefined) {
          const twin = front === 1 ? fast : slow;
          // Logged before the answer is written, so complete once the connection has closed.
          expect({ front, decisions: twin.decisions.filter((d) => d.source_ip === addressOf(i, front)).length }).toEqual({
            front,
            decisions: c.expect.decisions,
          });
        }
      }
    },
    15_000,
  );

  it('nothing else reached an upstream: no request from another source, none to the stricter application, no parse error', () => {
    const expected = new Set(CASES.flatMap((_, i) => [addressOf(i, 1), addressOf(i, 2)]));
    const stray = upstream.requests.filter((r) => !expected.has(valuesOf(r, 'x-forwarded-for')[0] ?? ''));
    expect(stray.map((r) => `${r.method} ${r.url} from ${valuesOf(r, 'x-forwarded-for').join()}`)).toEqual([]);
    expect(upstream.requests).toHaveLength(CASES.reduce((n, c) => n + 2 * c.expect.upstream.length, 0));
    upstream.requests.forEach(upstreamProperties);
    expect(adminUpstream.requests).toEqual([]);
    expect({ upstream: upstream.errors, admin: adminUpstream.errors }).toEqual({ upstream: [], admin: [] });
  });
});

describe('a client that goes away: nothing starts upstream for it, and what is under way is abandoned (both fronts)', () => {
  /** Twins whose service-token exchanges wait for `hold` (so a client can leave while it is judged). */
  async function heldTwins(hold: () => Promise<void>) {
    const up = await startEchoUpstream();
    const twins = await startTwins(up.url, {
      access: (access) => {
        const exchange = access.exchange.bind(access);
        access.exchange = async (...args) => {
          await hold();
          return exchange(...args);
        };
        return access;
      },
    });
    return { up, twins, creds: `CF-Access-Client-Id: ${twins.id}\r\nCF-Access-Client-Secret: ${twins.secret}\r\n` };
  }

  /** The gateway's side of the next connection `twin` accepts has closed. */
  const gatewaySideClosed = (twin: Twin) =>
    new Promise<void>((resolve) => twin.gateway.front.server.once('socket', (socket: net.Socket) => socket.once('close', () => resolve())));

  it.each([true, false])('a request whose client closed before it was admitted never reaches the upstream (fast front: %s)', async (fastFront) => {
    const gate = { closed: Promise.resolve() };
    const { up, twins, creds } = await heldTwins(() => gate.closed);
    const twin = fastFront ? twins.fast : twins.slow;
    const closed = (gate.closed = gatewaySideClosed(twin));
    const conn = rawConnection(twin.port, '');
    await new Promise<void>((resolve) => conn.socket.once('connect', resolve));
    conn.socket.write(get('/gone', creds), () => conn.socket.destroy());
    await closed;
    // Admitted now; the same request from a client still there is proxied (so the first had its chance).
    const after = rawConnection(twin.port, get('/after', creds));
    await expectEventually(() => expect(statusesOf(after.received())).toEqual([200]));
    expect(up.requests.map((r) => r.url)).toEqual(['/after']);
  });

  it.each([true, false])('a client that half-closes before its request was admitted: the same (fast front: %s)', async (fastFront) => {
    const gate = { closed: Promise.resolve() };
    const { up, twins, creds } = await heldTwins(() => gate.closed);
    const twin = fastFront ? twins.fast : twins.slow;
    const closed = (gate.closed = gatewaySideClosed(twin));
    const conn = rawConnection(twin.port, get('/gone', creds), { end: true });
    await closed;
    await conn.closed;
    const after = rawConnection(twin.port, get('/after', creds));
    await expectEventually(() => expect(statusesOf(after.received())).toEqual([200]));
    expect(up.requests.map((r) => r.url)).toEqual(['/after']);
  });

  it.each([true, false])('a client gone while its request is at the upstream: that upstream connection is closed (fast front: %s)', async (fastFront) => {
    const { up, twins, creds } = await heldTwins(async () => undefined);
    const twin = fastFront ? twins.fast : twins.slow;
    const conn = rawConnection(twin.port, get('/slow', creds)); // never answered
    await expectEventually(() => expect(up.requests.map((r) => r.url)).toEqual(['/slow']));
    await expect(up.connections()).resolves.toBe(1);
    conn.socket.destroy();
    await expectEventually(async () => expect(await up.connections()).toBe(0));
    expect(twin.gateway.upstreams.idleCount()).toBe(0);
  });
});

/** An upstream that accepts WebSocket upgrades (101) and echoes what the tunnel carries. */
async function startWebSocketEcho(): Promise<string> {
  const { port, server } = await startHttpUpstreamServer((_req, res) => res.end('ok'));
  server.on('upgrade', (_req, socket: net.Socket) => {
    socket.on('error', () => socket.destroy());
    socket.on('end', () => socket.destroy()); // the tunnel cut (the upstream's server keeps no record of an upgraded socket)
    socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n');
    socket.on('data', (d: Buffer) => socket.write(`echo:${d.toString('latin1')}`));
  });
  return `http://127.0.0.1:${port}`;
}

/** A WebSocket upgrade request with the twins' token. */
const upgradeRequest = (twins: { id: string; secret: string }) =>
  `GET /ws HTTP/1.1\r\nHost: ${HOST}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n` +
  `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nCF-Access-Client-Id: ${twins.id}\r\nCF-Access-Client-Secret: ${twins.secret}\r\n\r\n`;

/** The two ways a step that may be synchronous fails (src/gateway/soon.ts): a throw, or a rejection. */
const failures = [
  [
    'thrown at once',
    (error: Error): never => {
      throw error;
    },
  ],
  ['a rejection', (error: Error) => Promise.reject(error)],
] as const;

describe('an error while a request is admitted: a 503 for it, and the connection serves the next (both fronts)', () => {
  // The fast front's admission is synchronous when nothing is signed or verified (src/gateway/soon.ts):
  // an error is then a throw, not a rejection, and must end the same way.
  it.each(failures)('%s', async (_, fail) => {
    const up = await startEchoUpstream();
    const twins = await startTwins(up.url, {
      access: (access) => {
        const exchange = access.exchange.bind(access);
        let calls = 0;
        access.exchange = (...args) => (++calls === 1 ? fail(new Error('admission failed')) : exchange(...args));
        return access;
      },
    });
    const creds = `CF-Access-Client-Id: ${twins.id}\r\nCF-Access-Client-Secret: ${twins.secret}\r\n`;
    for (const twin of [twins.fast, twins.slow]) {
      const conn = rawConnection(twin.port, get('/first', creds) + get('/second', creds));
      await expectEventually(() => expect(statusesOf(conn.received())).toEqual([503, 200]));
      expect(conn.received()).toContain('{"error":"unavailable","reason":"internal"}');
      expect(conn.received()).toMatch(/^HTTP\/1\.1 503 [^]*?\r\ncf-ray: [0-9a-f]{16}\r\n/i);
      conn.socket.destroy();
    }
    expect(up.requests.map((r) => r.url)).toEqual(['/second', '/second']);
  });
});

describe('an error while open tunnels are re-checked on a change: the tunnel is cut, and the change applies (both fronts)', () => {
  // A replica change re-checks every open WebSocket tunnel against its JWT (Gateway.recheckTunnels).
  // The check is synchronous when nothing is verified (src/gateway/soon.ts): a throw there must not
  // reach the code applying the change, and must cut the tunnel as a refusal does.
  it.each(failures)('%s', async (_, fail) => {
    const upstream = await startWebSocketEcho();
    let failing = false;
    const twins = await startTwins(upstream, {
      access: (access) => {
        const checkJwt = access.checkJwt.bind(access);
        access.checkJwt = (...args) => (failing ? fail(new Error('check failed')) : checkJwt(...args));
        return access;
      },
    });
    for (const [i, twin] of [twins.fast, twins.slow].entries()) {
      failing = false;
      const conn = rawConnection(twin.port, upgradeRequest(twins));
      await expectEventually(() => expect(conn.received()).toContain('101 Switching Protocols'));
      conn.socket.write('ping');
      await expectEventually(() => expect(conn.received()).toContain('echo:ping'));
      let after = 0;
      twin.replica.onChange(() => after++);
      failing = true;
      // Any change re-checks the tunnels: here another application appears.
      const app = appOf({ name: `another-${i}`, domain: `another-${i}.example.com`, upstream });
      expect(() => twin.replica.apply([{ type: 'app', revision: 2, app }])).not.toThrow();
      expect(after).toBe(1); // the listeners after the gateway's ran too
      expect(twin.replica.app(app.id)).toBeDefined();
      let cut = false;
      void conn.closed.then(() => (cut = true));
      await expectEventually(() => expect(cut).toBe(true));
      expect(twin.gateway.upstreams.tunnelCount()).toBe(0);
    }
  });
});

describe('a token deleted while a request waits: it is judged as things are when its turn comes (both fronts)', () => {
  /** The twins' token deleted from a twin's replica (as its deletion event does). */
  const deleteToken = (twin: Twin, clientId: string) => {
    const token = twin.replica.tokenByClientId(clientId)!;
    twin.replica.apply([{ type: 'tombstone', entity: 'token', id: token.id, revision: 2 }]);
    expect(twin.replica.tokenByClientId(clientId)).toBeUndefined();
  };

  // The second request is read with the first, which the upstream holds; the token is deleted
  // meanwhile. A verdict taken when it was read would let it through (Node's server used to).
  it.each([
    ['the fast front', 'fast', ''],
    ["a connection handed to Node's server (a repeated field)", 'fast', 'Accept: a\r\nAccept: b\r\n'],
    ["Node's server", 'slow', ''],
  ] as const)('pipelined behind a request still being answered, on %s: refused, never forwarded', async (_, which, extra) => {
    const urls: string[] = [];
    const held: http.ServerResponse[] = [];
    const { port } = await startHttpUpstreamServer((req, res) => {
      urls.push(req.url!);
      if (req.url === '/hold') return void held.push(res);
      res.writeHead(200, { 'content-length': 2 }).end('ok');
    });
    const twins = await startTwins(`http://127.0.0.1:${port}`);
    const twin = which === 'fast' ? twins.fast : twins.slow;
    const creds = `CF-Access-Client-Id: ${twins.id}\r\nCF-Access-Client-Secret: ${twins.secret}\r\n`;
    // A JWT issued first: the second request's exchange is then answered from the caches, at once.
    const warm = rawConnection(twin.port, get('/warm', creds));
    await expectEventually(() => expect(statusesOf(warm.received())).toEqual([200]));
    const conn = rawConnection(twin.port, get('/hold', creds + extra) + get('/after', creds));
    await expectEventually(() => expect(urls).toEqual(['/warm', '/hold']));
    await new Promise((r) => setTimeout(r, 20)); // the second request has been read
    deleteToken(twin, twins.id);
    for (const res of held) res.writeHead(200, { 'content-length': 2 }).end('ok');
    await expectEventually(() => expect(statusesOf(conn.received())).toEqual([200, 401]));
    expect(urls).toEqual(['/warm', '/hold']);
  });

  it.each(['fast', 'slow'] as const)('an upgrade whose JWT is being signed (%s twin): the tunnel it opens is cut', async (which) => {
    // The token is deleted while the exchange signs its JWT (which waits for the thread pool).
    let duringSigning: (() => void) | null = null;
    const twins = await startTwins(await startWebSocketEcho(), {
      access: (access) => {
        const exchange = access.exchange.bind(access);
        access.exchange = (...args) => {
          const decided = exchange(...args);
          const hook = duringSigning;
          if (!(decided instanceof Promise) || !hook) return decided;
          duringSigning = null;
          return decided.then((d) => (hook(), d));
        };
        return access;
      },
    });
    const twin = which === 'fast' ? twins.fast : twins.slow;
    duringSigning = () => deleteToken(twin, twins.id);
    const conn = rawConnection(twin.port, upgradeRequest(twins));
    let cut = false;
    void conn.closed.then(() => (cut = true));
    await expectEventually(() => expect(cut).toBe(true));
    expect(duringSigning).toBeNull(); // the token was deleted during the signing
    expect(twin.gateway.upstreams.tunnelCount()).toBe(0);
  });
});

describe('pipelined requests and refusals (both fronts)', () => {
  it('requests pipelined on one connection ride one upstream connection', async () => {
    const up = await startEchoUpstream();
    const twins = await startTwins(up.url);
    const creds = `CF-Access-Client-Id: ${twins.id}\r\nCF-Access-Client-Secret: ${twins.secret}\r\n`;
    for (const twin of [twins.fast, twins.slow]) {
      const n = 20;
      const conn = rawConnection(twin.port, Array.from({ length: n }, (_, i) => get(`/p${i}`, creds)).join(''));
      await expectEventually(() => expect(statusesOf(conn.received())).toEqual(Array<number>(n).fill(200)));
      // Each answer's upstream connection went back to the pool before the next request took one.
      expect(twin.gateway.upstreams.idleCount()).toBe(1);
      conn.socket.destroy();
    }
  });

  // Behind a request the upstream holds, the ones pipelined after it wait unanswered for their
  // turn: Node's server must stop reading the connection (MAX_PIPELINED_REQUESTS), not parse and
  // hold all of them. A reset then tears down few, and other clients are served at once.
  it.each([
    ["Node's server", 'slow', (creds: string) => get('/hold', creds)],
    ["a connection handed to Node's server (a repeated field)", 'fast', (creds: string) => get('/hold', `${creds}Accept: a\r\nAccept: b\r\n`)],
    // Those after it are ignored (never answered): they count all the same.
    [
      "Node's server, behind an HTTP/1.0 request that says keep-alive and close",
      'fast',
      (creds: string) => `GET /hold HTTP/1.0\r\nHost: ${HOST}\r\nConnection: keep-alive, close\r\n${creds}\r\n`,
    ],
  ] as const)('100,000 requests pipelined behind a held one, on %s: few are read, and a reset holds no one up', async (_, which, first) => {
    const held: http.ServerResponse[] = [];
    const { port } = await startHttpUpstreamServer((req, res) => {
      if (req.url === '/hold') return void held.push(res);
      res.writeHead(200, { 'content-length': 2 }).end('ok');
    });
    const twins = await startTwins(`http://127.0.0.1:${port}`);
    const twin = which === 'fast' ? twins.fast : twins.slow;
    let parsed = 0;
    twin.gateway.server.prependListener('request', () => void parsed++);
    const creds = `CF-Access-Client-Id: ${twins.id}\r\nCF-Access-Client-Secret: ${twins.secret}\r\n`;
    const flood = rawConnection(twin.port, first(creds) + get('/x', '').repeat(100_000));
    await expectEventually(() => expect(held).toHaveLength(1));
    await new Promise((r) => setTimeout(r, 500)); // what it reads, it has read by now
    // At most the limit, plus what one read of 64 KiB holds (about 1,500 of these requests).
    expect(parsed).toBeGreaterThanOrEqual(MAX_PIPELINED_REQUESTS);
    expect(parsed).toBeLessThan(MAX_PIPELINED_REQUESTS + 2_000);
    flood.socket.resetAndDestroy();
    const started = Date.now();
    const other = rawConnection(twin.port, get('/other', creds));
    await expectEventually(() => expect(statusesOf(other.received())).toEqual([200]));
    expect(Date.now() - started).toBeLessThan(2_000); // a stall of seconds before (100,000 requests torn down one by one)
  });

  it('a connection paused at the limit of pipelined requests reads on as they are answered: every one answered, in order', async () => {
    const up = await startEchoUpstream();
    const twins = await startTwins(up.url);
    const creds = `CF-Access-Client-Id: ${twins.id}\r\nCF-Access-Client-Secret: ${twins.secret}\r\n`;
    for (const [twin, extra] of [
      [twins.slow, ''],
      [twins.fast, 'Accept: a\r\nAccept: b\r\n'],
    ] as const) {
      // Forwarded, then refused (no credentials: small answers, so Node's own check, which counts
      // the bytes of answers waiting, never pauses or resumes the connection): more than one read.
      const n = 1_000;
      const bytes = Array.from({ length: n }, (_, i) => get(`/p${i}`, creds + extra)).join('') + get('/refused', '').repeat(2 * n);
      const conn = rawConnection(twin.port, bytes + `POST /body HTTP/1.1\r\nHost: ${HOST}\r\n${creds}Content-Length: 5\r\n\r\nhello`);
      await expectEventually(() => expect(statusesOf(conn.received())).toHaveLength(3 * n + 1));
      expect(statusesOf(conn.received())).toEqual([...Array<number>(n).fill(200), ...Array<number>(2 * n).fill(401), 200]);
      expect([...conn.received().matchAll(/\nGET (\/p\d+)\n/g)].map((m) => m[1])).toEqual(Array.from({ length: n }, (_, i) => `/p${i}`));
      expect(conn.received()).toMatch(/POST \/body[^]*hello/);
      conn.socket.destroy();
    }
  });

  it("a large answer drained slowly does not let Node's own check read on past the limit", async () => {
    // Node resumes a connection as the answer being written drains; with 50,000 requests behind
    // that answer, each resume let another read's worth be parsed and held.
    const size = 20_000_000;
    const { port } = await startHttpUpstreamServer((req, res) => {
      if (req.url !== '/big') return void res.writeHead(200, { 'content-length': 2 }).end('ok');
      res.writeHead(200, { 'content-length': size });
      const chunk = Buffer.alloc(64 * 1024, 97);
      let sent = 0;
      const pump = () => {
        while (sent < size) {
          sent += chunk.length;
          if (!res.write(sent <= size ? chunk : chunk.subarray(0, size - (sent - chunk.length)))) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
    });
    const twins = await startTwins(`http://127.0.0.1:${port}`);
    const twin = twins.slow;
    let parsed = 0;
    let answered = 0;
    let mostWaiting = 0;
    twin.gateway.server.prependListener('request', (_req: http.IncomingMessage, res: http.ServerResponse) => {
      mostWaiting = Math.max(mostWaiting, ++parsed - answered);
      res.once('close', () => void answered++);
    });
    const creds = `CF-Access-Client-Id: ${twins.id}\r\nCF-Access-Client-Secret: ${twins.secret}\r\n`;
    const conn = rawConnection(twin.port, get('/big', creds) + get('/', '').repeat(50_000));
    conn.socket.pause();
    const reading = setInterval(() => conn.socket.read(16 * 1024), 2); // a slow reader
    await new Promise((r) => setTimeout(r, 3_000));
    clearInterval(reading);
    conn.socket.destroy();
    expect(parsed).toBeGreaterThanOrEqual(MAX_PIPELINED_REQUESTS);
    expect(mostWaiting).toBeLessThan(MAX_PIPELINED_REQUESTS + 2_000);
  });

  it("a request that does not arrive whole in time on Node's server: 408, after the answers before it", async () => {
    const up = await startEchoUpstream();
    const twins = await startTwins(up.url, { requestTimeoutMs: 400 });
    const creds = `CF-Access-Client-Id: ${twins.id}\r\nCF-Access-Client-Secret: ${twins.secret}\r\n`;
    for (const unfinished of [
      `GET /head HTTP/1.1\r\nHost: ${HOST}\r\n${creds}`, // a head that never ends
      `POST /body HTTP/1.1\r\nHost: ${HOST}\r\n${creds}Content-Length: 10\r\n\r\nabc`, // a body that never ends
    ]) {
      const conn = rawConnection(twins.slow.port, get('/first', creds) + unfinished);
      await conn.closed;
      expect(statusesOf(conn.received())).toEqual([200, 408]);
      expect(conn.received()).toContain('{"error":"request_timeout","reason":"request_not_received_in_time"}');
    }
    // The unfinished ones never reached the upstream whole (a body's head may have gone up, then been cut).
    expect(up.requests.map((r) => r.url)).toEqual(['/first', '/first']);
  });

  it.each([
    ['no credentials', ''],
    ['a wrong secret', 'CF-Access-Client-Id: {{ID}}\r\nCF-Access-Client-Secret: wrong\r\n'],
    ['the right secret', 'CF-Access-Client-Id: {{ID}}\r\nCF-Access-Client-Secret: {{SECRET}}\r\n'],
    ['an unknown host (a 404 of its own)', '', 'nowhere.example.com'],
    ['a path override header (a 400 of its own)', 'X-Original-URL: /x\r\n'],
  ])('a request with framing Node refuses and %s: only the framing refusal, and it is neither judged nor logged', async (_, extra, host = HOST) => {
    const up = await startEchoUpstream();
    const twins = await startTwins(up.url);
    for (const te of ['identity', 'xchunked']) {
      for (const twin of [twins.fast, twins.slow]) {
        const fields = extra.replace('{{ID}}', twins.id).replace('{{SECRET}}', twins.secret);
        const conn = rawConnection(twin.port, `POST /te HTTP/1.1\r\nHost: ${host}\r\n${fields}Transfer-Encoding: ${te}\r\n\r\nabc`);
        await conn.closed;
        expect(statusesOf(conn.received())).toEqual([400]);
        expect(conn.received()).toContain('"reason":"malformed_request"');
      }
    }
    await new Promise((r) => setTimeout(r, 20)); // a judgement a microtask or a turn later would be logged by now
    expect(twins.fast.decisions).toEqual([]);
    expect(twins.slow.decisions).toEqual([]);
    expect(up.requests).toEqual([]);
  });

  it('requests read whole before one whose framing Node refuses are still answered, in order, then the refusal', async () => {
    const up = await startEchoUpstream();
    const twins = await startTwins(up.url);
    const creds = `CF-Access-Client-Id: ${twins.id}\r\nCF-Access-Client-Secret: ${twins.secret}\r\n`;
    for (const twin of [twins.fast, twins.slow]) {
      const conn = rawConnection(
        twin.port,
        get('/one', creds) + get('/two', creds) + `POST /te HTTP/1.1\r\nHost: ${HOST}\r\n${creds}Transfer-Encoding: identity\r\n\r\nabc`,
      );
      await conn.closed;
      expect(statusesOf(conn.received())).toEqual([200, 200, 400]);
      expect(twin.decisions.map((d) => d.result)).toEqual(['allow', 'allow']);
    }
    expect(up.requests.map((r) => r.url)).toEqual(['/one', '/two', '/one', '/two']);
  });
});
