/**
 * The fast front's request-head parser (./fast-front.ts). It recognises only a strict subset of
 * HTTP/1.1, the requests the gateway proxies every day; anything else is `outside`, and the
 * connection goes to Node's HTTP server (llhttp), the proven path, for the rest of its life. So it
 * never has to refuse, only to be sure: every head it accepts llhttp accepts too, with the same
 * method, target, header names and values, ending at the same byte (request-head.fuzz.spec.ts).
 *
 * The subset:
 * - request line `METHOD SP origin-form SP HTTP/1.1 CRLF`, the method one of FAST_METHODS, the
 *   target printable ASCII starting with `/`, not under `/cdn-cgi/access/` (the access endpoints
 *   are the slow path's);
 * - header lines `token ":" OWS value OWS CRLF`: no obs-fold, no bare CR or LF, values of
 *   printable ASCII, SP and HTAB only (no NUL, no other control, no obs-text);
 * - every header name at most once (Node would join or drop repeats: its rules stay its own);
 * - no body and no framing header: no Content-Length, no Transfer-Encoding;
 * - a Host header (Node answers an HTTP/1.1 request without one 400 itself);
 * - no Upgrade, no Expect, and Connection absent or exactly `keep-alive`;
 * - at most MAX_FAST_HEADERS headers, the whole head within the limit.
 */

/** Methods served by the fast path (bodiless requests only; CONNECT and the rest go to Node). */
const FAST_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'DELETE', 'POST', 'PUT', 'PATCH']);

/** Headers whose presence puts a request outside the subset (framing, protocol switch, 100-continue). */
const OUTSIDE_HEADERS = new Set(['content-length', 'transfer-encoding', 'upgrade', 'expect', 'http2-settings']);

/** Fewer than Node's `maxHeadersCount` (2000, beyond which it drops headers silently). */
export const MAX_FAST_HEADERS = 100;

/** A head longer than this is left to Node (its limit, 64 KiB, and its 431). */
export const FAST_HEAD_LIMIT = 16 * 1024;

const ACCESS_PREFIX = '/cdn-cgi/access/';

/** tchar (RFC 9110 §5.6.2) by byte. */
const TOKEN = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~") TOKEN[c.charCodeAt(0)] = 1;
for (let c = 0x30; c <= 0x39; c++) TOKEN[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TOKEN[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TOKEN[c] = 1;

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const HTAB = 0x09;
const COLON = 0x3a;

/** A request head of the subset, as Node's parser would give it. */
export interface FastHead {
  method: string;
  url: string;
  /** Names as sent, values trimmed: Node's `rawHeaders`. */
  rawHeaders: string[];
  /** Lower-case names, one value each: Node's `headers` (the subset has no repeated name). */
  headers: Record<string, string>;
}

export type RequestHeadResult =
  /** Not all of the head is here yet (and nothing so far is outside the subset). */
  | { kind: 'incomplete' }
  /** Outside the subset, for Node's server to answer (`reason` names the rule, for tests). */
  | { kind: 'outside'; reason: string }
  /** A head of the subset ending just before `end`. */
  | { kind: 'request'; head: FastHead; end: number };

const incomplete: RequestHeadResult = { kind: 'incomplete' };
const outside = (reason: string): RequestHeadResult => ({ kind: 'outside', reason });

/**
 * Long header values of one connection that passed the value check (its cookie, ~1 KB with the
 * gateway's JWT, comes again on each of its requests): the bytes from the value's start up to its
 * CR, and what they gave. A value found among them is compared (memcmp), not scanned byte by byte
 * again, and its string is reused. Only what already passed the check is kept, so a hit accepts
 * exactly what a scan would. Per connection: a directly connected client's values are compared
 * only with its own (behind a proxy that pools connections, with those of the proxy's other
 * clients on the same connection, as the JWT cache looks up any client's JWT by its value).
 * At most MAX_CHECKED values of LONG_VALUE to MAX_LONG_VALUE bytes, kept in their own memory
 * (not a slice of a shared pool): at most 16 KiB per connection with their strings.
 */
export class CheckedValues {
  private readonly entries: CheckedValue[] = [];
  private next = 0;

  /** The checked value at `at` of `buf` (its bytes, then CR), if any. */
  at(buf: Buffer, at: number): CheckedValue | undefined {
    for (const c of this.entries) {
      const end = at + c.bytes.length;
      if (end < buf.length && buf[end] === CR && buf[at] === c.bytes[0] && buf.compare(c.bytes, 0, c.bytes.length, at, end) === 0) return c;
    }
    return undefined;
  }

  /** Keeps a value that passed the check (`bytes` from its start up to its CR), if long. */
  keep(buf: Buffer, start: number, end: number, value: string): void {
    if (end - start < LONG_VALUE || end - start > MAX_LONG_VALUE) return;
    const bytes = Buffer.allocUnsafeSlow(end - start);
    buf.copy(bytes, 0, start, end);
    this.entries[this.next] = { bytes, value };
    this.next = (this.next + 1) % MAX_CHECKED;
  }
}
interface CheckedValue {
  /** From the value's start up to its CR (trailing whitespace included). */
  bytes: Buffer;
  /** The value as parsed (trailing whitespace trimmed). */
  value: string;
}
const LONG_VALUE = 256;
const MAX_LONG_VALUE = 4096;
const MAX_CHECKED = 2;

/** The request head at the start of `buf`; `memo` is its connection's (see CheckedValues). */
export function parseRequestHead(buf: Buffer, limit = FAST_HEAD_LIMIT, memo?: CheckedValues): RequestHeadResult {
  const length = buf.length;
  // The request line.
  let i = 0;
  while (i < length && i < 8 && TOKEN[buf[i]!]) i++;
  if (i === length) return length < 8 ? incomplete : outside('method');
  if (buf[i] !== SP || i === 0) return outside('method');
  const method = buf.toString('latin1', 0, i);
  if (!FAST_METHODS.has(method)) return outside('method');
  const targetStart = ++i;
  if (i < length && buf[i] !== 0x2f /* "/" */) return outside('target');
  while (i < length && buf[i]! > SP && buf[i]! < 0x7f) i++;
  if (i - targetStart > limit) return outside('head_too_large');
  if (i === length) return incomplete;
  if (buf[i] !== SP) return outside('target');
  const url = buf.toString('latin1', targetStart, i);
  if (url.startsWith(ACCESS_PREFIX)) return outside('access_endpoint');
  i++;
  const version = lineEnd(buf, i, 'HTTP/1.1');
  if (version !== 'ok') return version === 'short' ? incomplete : outside('version');
  i += 10;
  // Header lines, up to the empty line.
  const rawHeaders: string[] = [];
  const headers: Record<string, string> = Object.create(null) as Record<string, string>;
  for (;;) {
    if (i > limit) return outside('head_too_large');
    if (i >= length) return incomplete;
    if (buf[i] === CR) {
      if (i + 1 >= length) return incomplete;
      if (buf[i + 1] !== LF) return outside('bare_cr');
      i += 2;
      break;
    }
    const nameStart = i;
    while (i < length && TOKEN[buf[i]!]) i++;
    if (i === length) return i - nameStart > limit ? outside('head_too_large') : incomplete;
    if (buf[i] !== COLON || i === nameStart) return outside(buf[i] === SP || buf[i] === HTAB ? 'space_before_colon' : 'header_name');
    const name = buf.toString('latin1', nameStart, i);
    i++;
    while (i < length && (buf[i] === SP || buf[i] === HTAB)) i++;
    const valueStart = i;
    let valueEnd = i;
    const seen = memo?.at(buf, i);
    if (seen) i += seen.bytes.length;
    else {
      for (;;) {
        if (i >= length) return i > limit ? outside('head_too_large') : incomplete;
        const c = buf[i]!;
        if (c === CR) break;
        if (c === HTAB || (c >= SP && c < 0x7f)) {
          i++;
          if (c !== SP && c !== HTAB) valueEnd = i;
          continue;
        }
        return outside(c === LF ? 'bare_lf' : 'header_value');
      }
    }
    if (i + 1 >= length) return incomplete;
    if (buf[i + 1] !== LF) return outside('bare_cr');
    i += 2;
    // obs-fold: a line that starts with SP or HTAB continues the previous one.
    if (i < length && (buf[i] === SP || buf[i] === HTAB)) return outside('obs_fold');
    const lower = name.toLowerCase();
    if (lower in headers) return outside('repeated_header');
    if (OUTSIDE_HEADERS.has(lower)) return outside(lower);
    let value: string;
    if (seen) value = seen.value;
    else {
      value = buf.toString('latin1', valueStart, valueEnd);
      memo?.keep(buf, valueStart, i - 2, value);
    }
    if (lower === 'connection' && value.toLowerCase() !== 'keep-alive') return outside('connection');
    if (rawHeaders.length >= 2 * MAX_FAST_HEADERS) return outside('too_many_headers');
    headers[lower] = value;
    rawHeaders.push(name, value);
  }
  if (i > limit) return outside('head_too_large');
  if (headers.host === undefined) return outside('no_host');
  return { kind: 'request', head: { method, url, rawHeaders, headers }, end: i };
}

/** Whether `buf` has `text` then CRLF at `at`: 'ok', 'short' (a prefix of it so far) or 'no'. */
function lineEnd(buf: Buffer, at: number, text: string): 'ok' | 'short' | 'no' {
  const expected = `${text}\r\n`;
  for (let k = 0; k < expected.length; k++) {
    if (at + k >= buf.length) return 'short';
    if (buf[at + k] !== expected.charCodeAt(k)) return 'no';
  }
  return 'ok';
}
