import { FAST_HEAD_LIMIT, MAX_FAST_HEADERS, parseRequestHead, type RequestHeadResult } from './request-head.js';

const parse = (text: string, limit?: number): RequestHeadResult => parseRequestHead(Buffer.from(text, 'latin1'), limit);
const reason = (text: string): string => {
  const r = parse(text);
  return r.kind === 'outside' ? r.reason : r.kind;
};

describe('parseRequestHead: the fast path subset', () => {
  it('a plain GET: method, target, raw and lower-cased headers (values trimmed), and where the head ends', () => {
    const text = 'GET /a/b?c=d HTTP/1.1\r\nHost: app.example.com\r\nCookie:  CF_Authorization=x.y.z \t\r\nX-Empty:\r\n\r\nNEXT';
    const r = parse(text);
    expect(r).toEqual({
      kind: 'request',
      end: text.indexOf('NEXT'),
      head: {
        method: 'GET',
        url: '/a/b?c=d',
        rawHeaders: ['Host', 'app.example.com', 'Cookie', 'CF_Authorization=x.y.z', 'X-Empty', ''],
        headers: expect.objectContaining({ host: 'app.example.com', cookie: 'CF_Authorization=x.y.z', 'x-empty': '' }) as object,
      },
    });
  });

  it('pipelined heads: each ends where the next begins', () => {
    const one = 'HEAD /1 HTTP/1.1\r\nHost: a\r\n\r\n';
    const buf = Buffer.from(`${one}DELETE /2 HTTP/1.1\r\nHost: a\r\n\r\n`, 'latin1');
    const first = parseRequestHead(buf);
    expect(first).toMatchObject({ kind: 'request', end: one.length, head: { method: 'HEAD', url: '/1' } });
    expect(parseRequestHead(buf.subarray(one.length))).toMatchObject({ kind: 'request', head: { method: 'DELETE', url: '/2' } });
  });

  it('Connection: keep-alive (any case) stays on the fast path', () => {
    expect(parse('GET / HTTP/1.1\r\nHost: a\r\nConnection: Keep-Alive\r\n\r\n').kind).toBe('request');
  });

  it('every prefix of a head of the subset is incomplete, never outside', () => {
    const text = 'OPTIONS /x HTTP/1.1\r\nHost: a\r\nX-A: b c\r\n\r\n';
    for (let n = 0; n < text.length; n++) expect([n, parse(text.slice(0, n)).kind]).toEqual([n, 'incomplete']);
    expect(parse(text).kind).toBe('request');
  });

  it.each([
    ['a body (Content-Length)', 'POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc', 'content-length'],
    ['even an empty one', 'POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n', 'content-length'],
    ['Transfer-Encoding', 'POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n', 'transfer-encoding'],
    ['CL and TE together (smuggling)', 'POST / HTTP/1.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n', 'content-length'],
    ['two Content-Lengths', 'GET / HTTP/1.1\r\nContent-Length: 0\r\nContent-Length: 5\r\n\r\n', 'content-length'],
    ['an upgrade', 'GET / HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n', 'connection'],
    ['Upgrade alone', 'GET / HTTP/1.1\r\nUpgrade: h2c\r\n\r\n', 'upgrade'],
    ['Expect', 'PUT / HTTP/1.1\r\nExpect: 100-continue\r\n\r\n', 'expect'],
    ['Connection: close', 'GET / HTTP/1.1\r\nConnection: close\r\n\r\n', 'connection'],
    ['Connection listing headers', 'GET / HTTP/1.1\r\nConnection: keep-alive, x-a\r\n\r\n', 'connection'],
    ['a repeated header (any case)', 'GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n', 'repeated_header'],
    ['a header named like a prototype property', 'GET / HTTP/1.1\r\n__proto__: a\r\n__proto__: b\r\n\r\n', 'repeated_header'],
    ['obs-fold', 'GET / HTTP/1.1\r\nX-A: a\r\n b\r\n\r\n', 'obs_fold'],
    ['obs-fold with a tab', 'GET / HTTP/1.1\r\nX-A: a\r\n\tb\r\n\r\n', 'obs_fold'],
    ['a bare LF in a value', 'GET / HTTP/1.1\r\nX-A: a\nX-B: b\r\n\r\n', 'bare_lf'],
    ['a bare LF ending the request line', 'GET / HTTP/1.1\nHost: a\r\n\r\n', 'version'],
    ['bare LFs only', 'GET / HTTP/1.1\nHost: a\n\n', 'version'],
    ['a bare CR', 'GET / HTTP/1.1\r\nX-A: a\rX-B: b\r\n\r\n', 'bare_cr'],
    ['a bare CR ending the head', 'GET / HTTP/1.1\r\nX-A: a\r\n\rx', 'bare_cr'],
    ['a space before the colon', 'GET / HTTP/1.1\r\nContent-Length : 5\r\n\r\n', 'space_before_colon'],
    ['a tab before the colon', 'GET / HTTP/1.1\r\nHost\t: a\r\n\r\n', 'space_before_colon'],
    ['no colon', 'GET / HTTP/1.1\r\nHost a\r\n\r\n', 'space_before_colon'],
    ['an empty header name', 'GET / HTTP/1.1\r\n: a\r\n\r\n', 'header_name'],
    ['a non-token in a name', 'GET / HTTP/1.1\r\nX(A): a\r\n\r\n', 'header_name'],
    ['NUL in a value', 'GET / HTTP/1.1\r\nX-A: a\x00b\r\n\r\n', 'header_value'],
    ['DEL in a value', 'GET / HTTP/1.1\r\nX-A: a\x7fb\r\n\r\n', 'header_value'],
    ['obs-text in a value', 'GET / HTTP/1.1\r\nX-A: caf\xe9\r\n\r\n', 'header_value'],
    ['a control character in a value', 'GET / HTTP/1.1\r\nX-A: a\x0bb\r\n\r\n', 'header_value'],
    ['HTTP/1.0', 'GET / HTTP/1.0\r\n\r\n', 'version'],
    ['HTTP/2 preface', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'method'],
    ['lower-case version', 'GET / http/1.1\r\n\r\n', 'version'],
    ['two spaces', 'GET  / HTTP/1.1\r\n\r\n', 'target'],
    ['a trailing space after the version', 'GET / HTTP/1.1 \r\n\r\n', 'version'],
    ['absolute-form', 'GET http://a/ HTTP/1.1\r\n\r\n', 'target'],
    ['asterisk-form', 'OPTIONS * HTTP/1.1\r\n\r\n', 'target'],
    ['CONNECT', 'CONNECT a:443 HTTP/1.1\r\n\r\n', 'method'],
    ['an unknown method', 'PROPFIND / HTTP/1.1\r\n\r\n', 'method'],
    ['a lower-case method', 'get / HTTP/1.1\r\n\r\n', 'method'],
    ['a long token before anything', 'GETGETGETGET / HTTP/1.1\r\n\r\n', 'method'],
    ['an empty line before the request', '\r\nGET / HTTP/1.1\r\n\r\n', 'method'],
    ['a tab in the target', 'GET /a\tb HTTP/1.1\r\n\r\n', 'target'],
    ['obs-text in the target', 'GET /caf\xe9 HTTP/1.1\r\n\r\n', 'target'],
    ['an access endpoint', 'GET /cdn-cgi/access/health HTTP/1.1\r\n\r\n', 'access_endpoint'],
    ['no Host (Node answers 400 itself)', 'GET / HTTP/1.1\r\nX-A: a\r\n\r\n', 'no_host'],
  ])('%s: outside (Node decides)', (_what, text, why) => {
    expect(reason(text)).toBe(why);
  });

  it('too many headers: outside', () => {
    const lines = Array.from({ length: MAX_FAST_HEADERS }, (_, i) => `X-${i}: v\r\n`).join('');
    expect(parse(`GET / HTTP/1.1\r\nHost: a\r\n${lines.slice(lines.indexOf('\n') + 1)}\r\n`).kind).toBe('request');
    expect(reason(`GET / HTTP/1.1\r\nHost: a\r\n${lines}\r\n`)).toBe('too_many_headers');
  });

  it('a head longer than the limit: outside, complete or not', () => {
    const big = `GET / HTTP/1.1\r\nCookie: ${'a'.repeat(FAST_HEAD_LIMIT)}\r\n\r\n`;
    expect(reason(big)).toBe('head_too_large');
    expect(reason(big.slice(0, FAST_HEAD_LIMIT + 100))).toBe('head_too_large');
    expect(reason(`GET /${'a'.repeat(FAST_HEAD_LIMIT + 10)}`)).toBe('head_too_large');
    expect(parse('GET / HTTP/1.1\r\nHost: b\r\n\r\n', 30).kind).toBe('request');
    expect(reason('GET / HTTP/1.1\r\nHost: bcdefghij\r\n\r\n')).toBe('request');
    expect(parse('GET / HTTP/1.1\r\nHost: bcdefghij\r\n\r\n', 30)).toEqual({ kind: 'outside', reason: 'head_too_large' });
  });
});
