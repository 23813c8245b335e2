/**
 * A strict, incremental HTTP/1.1 response parser for the gateway's upstream connections
 * (RFC 9112). The gateway reuses each upstream connection for many clients' requests, so the one
 * thing this parser must never do is guess where a response ends: anything ambiguous (both
 * Content-Length and Transfer-Encoding, differing lengths, obs-fold, bare CR or LF, a bad chunk
 * size) is an error, and the connection is then closed instead of reused.
 *
 * Requests are sent one at a time per connection, so bytes after the end of a response are an
 * upstream fault too: `extraBytes` tells the caller not to reuse the connection.
 *
 * Nothing of the bytes given to `execute` is kept past the call (what a response still needs from
 * them is copied), so the caller may read the next bytes into the same buffer; the chunks `body`
 * reports are views of them, valid during that call only.
 */

export class UpstreamProtocolError extends Error {
  constructor(reason: string) {
    super(`upstream protocol error: ${reason}`);
    this.name = 'UpstreamProtocolError';
  }
}

export interface ResponseHead {
  status: number;
  /**
   * Header names and values as received, flat: [name, value, name, value, …]. The same array (and
   * `connection` set) for every response of a connection whose head text repeats: never changed.
   */
  readonly headers: readonly string[];
  /** Lower-cased tokens of the Connection header (hop-by-hop names to drop, `close`). */
  readonly connection: ReadonlySet<string>;
  /** The body's length when known up front (Content-Length, or 0 for bodiless responses). */
  contentLength: number | null;
  chunked: boolean;
  /** False when the upstream asked to close, spoke HTTP/1.0, or delimits the body by closing. */
  keepAlive: boolean;
}

export interface ResponseEvents {
  head(head: ResponseHead): void;
  /** `last`: the response ends with this chunk (done() follows at once). */
  body(chunk: Buffer, last: boolean): void;
  done(): void;
  /**
   * After the head of a `101 Switching Protocols` (only when started with `upgrade`): the bytes
   * that followed it, which belong to the new protocol. The parser is finished with the connection.
   */
  switched?(rest: Buffer): void;
}

/** A final response head as checked and parsed (ResponseParser.parseHead): shared by the responses that repeat it. */
interface ParsedHead {
  code: number;
  http11: boolean;
  headers: string[];
  connection: Set<string>;
  contentLength: number | null;
  transferEncoding: string | null;
  /** Of a Transfer-Encoding: its last coding is chunked (and no other is), or chunked twice (refused when it frames a body). */
  coding: 'chunked' | 'chunked twice' | 'other';
}

const enum State {
  Idle,
  Head,
  BodyLength,
  ChunkSize,
  ChunkData,
  ChunkDataEnd,
  Trailers,
  BodyUntilClose,
  Done,
  /** A 101 was parsed: what follows is another protocol. */
  Switched,
}

const CRLFCRLF = Buffer.from('\r\n\r\n');
/* eslint-disable no-control-regex -- the HTTP grammar: reason phrases, header values and chunk extensions exclude control characters */
const STATUS_LINE = /^HTTP\/1\.([01]) ([1-9]\d\d)(?: [^\x00-\x08\x0a-\x1f\x7f]*)?$/;
const HEADER_LINE = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*([^\x00-\x08\x0a-\x1f\x7f]*?)[ \t]*$/;
const CHUNK_SIZE_LINE = /^([0-9a-fA-F]{1,13})(?:;[^\x00-\x08\x0a-\x1f\x7f]*)?$/;
/* eslint-enable no-control-regex */
const DIGITS = /^\d{1,15}$/;
const MAX_LINE = 4096;

/** A header line's name and value, or UpstreamProtocolError. */
function checkedHeaderLine(line: string): RegExpExecArray {
  const m = HEADER_LINE.exec(line);
  if (!m) throw new UpstreamProtocolError(/^[ \t]/.test(line) ? 'obsolete line folding' : 'invalid header field');
  return m;
}

export class ResponseParser {
  private state = State.Idle;
  private pending: Buffer | null = null;
  private remaining = 0;
  private noBody = false;
  /** The request asked to upgrade: a 101 is an answer (else it is an upstream fault). */
  private upgrade = false;
  private trailerBytes = 0;
  /** True once a byte of the current response has arrived (a reused connection's retry rule). */
  received = false;
  /** Bytes arrived after the end of the response: the connection must not be reused. */
  extraBytes = false;
  /** The last final (not 101) head parsed, and its text. */
  private lastHeadText: string | null = null;
  private lastHead: ParsedHead | null = null;

  constructor(
    private readonly events: ResponseEvents,
    private readonly maxHeadBytes = 64 * 1024,
  ) {}

  /** Expect the response to a request with this method (`upgrade`: a request to switch protocols). */
  start(method: string, upgrade = false): void {
    this.state = State.Head;
    this.upgrade = upgrade;
    this.pending = null;
    this.remaining = 0;
    this.trailerBytes = 0;
    this.noBody = method === 'HEAD';
    this.received = false;
    this.extraBytes = false;
  }

  /** Stops parsing the current response (the connection is being closed). */
  abort(): void {
    this.state = State.Idle;
    this.pending = null;
  }

  get done(): boolean {
    return this.state === State.Done;
  }

  /** Feeds bytes from the connection; throws UpstreamProtocolError on anything not well formed. */
  execute(data: Buffer): void {
    if (data.length === 0) return;
    if (this.state === State.Idle || this.state === State.Done || this.state === State.Switched) {
      this.extraBytes = true;
      return;
    }
    this.received = true;
    let buf = data;
    if (this.pending) {
      buf = Buffer.concat([this.pending, data]);
      this.pending = null;
    }
    let at = 0;
    // Where this call's new bytes start: a head arriving in pieces is scanned once, not again per piece.
    const fresh = buf.length - data.length;
    while (at < buf.length) {
      switch (this.state as State) {
        case State.Idle:
          return;
        case State.Head: {
          const end = buf.indexOf(CRLFCRLF, Math.max(at, fresh - 3));
          if (end < 0) {
            if (buf.length - at > this.maxHeadBytes) throw new UpstreamProtocolError('response head too large');
            // A head that uses bare LFs would never end: refuse it now rather than time out.
            for (let lf = buf.indexOf(0x0a, Math.max(at, fresh)); lf >= 0; lf = buf.indexOf(0x0a, lf + 1)) {
              if (lf === at || buf[lf - 1] !== 0x0d) throw new UpstreamProtocolError('bare LF');
            }
            this.pending = Buffer.from(buf.subarray(at));
            return;
          }
          if (end - at > this.maxHeadBytes) throw new UpstreamProtocolError('response head too large');
          const head = buf.toString('latin1', at, end);
          at = end + 4;
          this.onHead(head, at < buf.length);
          if ((this.state as State) === State.Switched) return this.events.switched?.(buf.subarray(at));
          break;
        }
        case State.BodyLength: {
          const n = Math.min(this.remaining, buf.length - at);
          this.remaining -= n;
          this.events.body(at === 0 && n === buf.length ? buf : buf.subarray(at, at + n), this.remaining === 0);
          at += n;
          if (this.remaining === 0) this.finishMessage(at < buf.length);
          break;
        }
        case State.BodyUntilClose: {
          this.events.body(at === 0 ? buf : buf.subarray(at), false);
          return;
        }
        case State.ChunkSize: {
          const line = this.line(buf, at);
          if (line === null) return;
          at = line.next;
          const m = CHUNK_SIZE_LINE.exec(line.text);
          if (!m) throw new UpstreamProtocolError('invalid chunk size');
          this.remaining = parseInt(m[1]!, 16);
          this.state = this.remaining === 0 ? State.Trailers : State.ChunkData;
          break;
        }
        case State.ChunkData: {
          const n = Math.min(this.remaining, buf.length - at);
          this.events.body(buf.subarray(at, at + n), false);
          at += n;
          this.remaining -= n;
          if (this.remaining === 0) this.state = State.ChunkDataEnd;
          break;
        }
        case State.ChunkDataEnd: {
          if (buf.length - at < 2) {
            if (buf[at] !== 0x0d) throw new UpstreamProtocolError('chunk not followed by CRLF');
            this.pending = Buffer.from(buf.subarray(at));
            return;
          }
          if (buf[at] !== 0x0d || buf[at + 1] !== 0x0a) throw new UpstreamProtocolError('chunk not followed by CRLF');
          at += 2;
          this.state = State.ChunkSize;
          break;
        }
        case State.Trailers: {
          const line = this.line(buf, at);
          if (line === null) return;
          this.trailerBytes += line.next - at;
          at = line.next;
          if (this.trailerBytes > this.maxHeadBytes) throw new UpstreamProtocolError('trailers too large');
          if (line.text === '') this.finishMessage(at < buf.length);
          else if (!HEADER_LINE.test(line.text)) throw new UpstreamProtocolError('invalid trailer field');
          break;
        }
        case State.Done:
        case State.Switched: {
          this.extraBytes = true;
          return;
        }
        default:
          throw new UpstreamProtocolError('unexpected state');
      }
    }
  }

  /**
   * The upstream closed the connection. True when that ends the response (a body delimited by
   * the close); false when the response is cut short or never started.
   */
  finish(): boolean {
    if (this.state === State.BodyUntilClose) {
      this.finishMessage(false);
      return true;
    }
    return this.state === State.Done;
  }

  /** `extra`: more bytes follow the response in the buffer (set before done() so the caller sees it). */
  private finishMessage(extra: boolean): void {
    this.state = State.Done;
    this.extraBytes = extra;
    this.events.done();
  }

  /** A CRLF-terminated line starting at `at`, or null (the rest is kept for the next bytes). */
  private line(buf: Buffer, at: number): { text: string; next: number } | null {
    const lf = buf.indexOf(0x0a, at);
    if (lf < 0) {
      if (buf.length - at > MAX_LINE) throw new UpstreamProtocolError('line too long');
      this.pending = Buffer.from(buf.subarray(at));
      return null;
    }
    if (lf === at || buf[lf - 1] !== 0x0d) throw new UpstreamProtocolError('bare LF');
    if (lf - at > MAX_LINE) throw new UpstreamProtocolError('line too long');
    const text = buf.toString('latin1', at, lf - 1);
    if (text.includes('\r')) throw new UpstreamProtocolError('bare CR');
    return { text, next: lf + 1 };
  }

  private onHead(head: string, extra: boolean): void {
    // An upstream answers most requests on a connection with the same head but for its Date, which
    // changes once a second: the same text was checked and parsed last time, and parses alike.
    let parsed = head === this.lastHeadText ? this.lastHead : null;
    if (parsed === null) {
      parsed = this.parseHead(head);
      if (parsed === null) return; // an interim response
      if (parsed.code !== 101) {
        this.lastHeadText = head;
        this.lastHead = parsed;
      }
    }
    const { code, headers, connection, contentLength, transferEncoding } = parsed;
    let keepAlive = parsed.http11 && !connection.has('close');
    let chunked = false;
    const bodiless = this.noBody || code === 204 || code === 304 || code === 101;
    if (code === 101) {
      this.state = State.Switched;
    } else if (bodiless) {
      this.state = State.Done;
    } else if (transferEncoding !== null) {
      if (parsed.coding === 'chunked twice') throw new UpstreamProtocolError('chunked applied twice');
      if (parsed.coding === 'chunked') {
        chunked = true;
        this.state = State.ChunkSize;
      } else {
        keepAlive = false;
        this.state = State.BodyUntilClose;
      }
    } else if (contentLength !== null) {
      this.remaining = contentLength;
      this.state = contentLength === 0 ? State.Done : State.BodyLength;
    } else {
      keepAlive = false;
      this.state = State.BodyUntilClose;
    }
    this.events.head({ status: code, headers, connection, contentLength: bodiless ? 0 : contentLength, chunked, keepAlive });
    if (this.state === State.Done) this.finishMessage(extra);
  }

  /**
   * A response head's status, fields and framing, checked (UpstreamProtocolError); null for an
   * interim response (100 Continue, 103 Early Hints), which is not forwarded: the final one follows.
   * What it returns depends on the text alone (and whether a 101 is allowed), never on the request.
   */
  private parseHead(head: string): ParsedHead | null {
    const lines = head.split('\r\n');
    const status = STATUS_LINE.exec(lines[0]!);
    if (!status) throw new UpstreamProtocolError('invalid status line');
    const code = Number(status[2]);
    if (code === 101 && !this.upgrade) throw new UpstreamProtocolError('unexpected protocol switch');
    if (code < 200 && code !== 101) {
      for (let i = 1; i < lines.length; i++) checkedHeaderLine(lines[i]!);
      return null;
    }
    const headers: string[] = [];
    const connection = new Set<string>();
    let contentLength: number | null = null;
    let transferEncoding: string | null = null;
    for (let i = 1; i < lines.length; i++) {
      const m = checkedHeaderLine(lines[i]!);
      const name = m[1]!;
      const value = m[2]!;
      headers.push(name, value);
      const lower = name.length === 14 || name.length === 17 || name.length === 10 ? name.toLowerCase() : '';
      if (lower === 'content-length') {
        if (!DIGITS.test(value)) throw new UpstreamProtocolError('invalid content-length');
        // Two, even equal: llhttp (and so a Node upstream's own client) refuses them too.
        if (contentLength !== null)
          throw new UpstreamProtocolError(Number(value) === contentLength ? 'duplicate content-length' : 'conflicting content-length');
        contentLength = Number(value);
      } else if (lower === 'transfer-encoding') {
        // An empty coding (`Transfer-Encoding:` or `chunked, ,`) frames nothing: llhttp (Node 24's
        // client, so many upstreams' peers) refuses it, and so does the gateway.
        if (value.split(',').some((c) => !c.trim())) throw new UpstreamProtocolError('empty transfer-encoding');
        transferEncoding = transferEncoding === null ? value : `${transferEncoding}, ${value}`;
      } else if (lower === 'connection') {
        for (const t of value.split(',')) if (t.trim()) connection.add(t.trim().toLowerCase());
      }
    }
    if (transferEncoding !== null && contentLength !== null) throw new UpstreamProtocolError('both content-length and transfer-encoding');
    let coding: ParsedHead['coding'] = 'other';
    if (transferEncoding !== null) {
      const codings = transferEncoding.split(',').map((c) => c.trim().toLowerCase());
      if (codings.at(-1) === 'chunked') coding = codings.indexOf('chunked') !== codings.length - 1 ? 'chunked twice' : 'chunked';
    }
    return { code, http11: status[1] === '1', headers, connection, contentLength, transferEncoding, coding };
  }
}
