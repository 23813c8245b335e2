import { EventEmitter } from 'node:events';
import { STATUS_CODES, type IncomingHttpHeaders, type OutgoingHttpHeaders, type Server } from 'node:http';
import net from 'node:net';
import { Duplex } from 'node:stream';
import type { ClientResponse, CookieMemo, RequestHead } from './proxy.js';
import { CheckedValues, FAST_HEAD_LIMIT, parseRequestHead, type FastHead } from './request-head.js';
import { writeBatch } from './write-batch.js';

/**
 * The gateway's fast front (docs/gateway.md, "Two fronts"). Node's http.Server costs more CPU per
 * proxied request than the whole gateway besides (its parser callbacks, IncomingMessage,
 * ServerResponse: ~18 KB allocated per request); most requests need none of its generality. The
 * gateway listens with a plain net.Server; each connection's bytes are read by a strict parser of
 * a small subset of HTTP/1.1 (./request-head.ts: bodiless requests, one value per header, no
 * Upgrade…), and those requests are admitted and proxied exactly as Node's server's are (the same
 * Gateway code, the same UpstreamPool exchange), answered by FastResponse with the bytes Node's
 * ServerResponse would write.
 *
 * The first request outside the subset, at the first request of a connection or at any later
 * request boundary, hands the connection to Node's server for the rest of its life: what was read
 * and not yet answered goes back into the socket (`unshift`) and the server is given the socket as
 * a new connection. So every request the fast path does not serve is served by the proven path,
 * refusals (431, 400 for bad framing, smuggling attempts) included.
 */

/** A request of the subset, as the gateway reads it (the shape of Node's IncomingMessage it uses). */
export class FastRequest implements RequestHead {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly rawHeaders: string[];
  readonly httpVersionMinor = 1;
  /** As IncomingMessage's: a bodiless request is complete once its head is read. */
  readonly complete = true;

  constructor(
    head: FastHead,
    readonly socket: net.Socket,
    readonly cookieMemo?: CookieMemo,
  ) {
    this.method = head.method;
    this.url = head.url;
    this.headers = head.headers;
    this.rawHeaders = head.rawHeaders;
  }
}

/** Node's checks before it writes a response header (ERR_INVALID_HTTP_TOKEN, ERR_INVALID_CHAR). */
const HEADER_NAME = /^[\^_`a-zA-Z\-0-9!#$%&'*+.|~]+$/;
const INVALID_VALUE = /[^\t\x20-\x7e\x80-\xff]/;
/**
 * The last long header value that passed INVALID_VALUE: the same value again (the gateway's
 * ~1 KB Set-Cookie, the same for a second) is compared, not scanned again.
 */
let checkedValue = '';
const LONG_VALUE = 256;

let dateSecond = -1;
let dateText = '';
/** The Date header's value, as Node's server writes it (computed once a second). */
function utcDate(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateText = new Date(now).toUTCString();
  }
  return dateText;
}

/**
 * The answer to one fast-path request: the bytes Node's ServerResponse writes for the same calls
 * (status line, the headers given, `Date` unless given, `Connection: keep-alive` and
 * `Keep-Alive: timeout=…`, then `Transfer-Encoding: chunked` when a body has no Content-Length),
 * with HEAD, 1xx, 204 and 304 answered without a body. Emits `drain` and, once finished or cut,
 * `close`, as a ServerResponse does.
 */
export class FastResponse extends EventEmitter implements ClientResponse {
  headersSent = false;
  destroyed = false;
  private finished = false;
  private closed = false;
  private chunked = false;
  private bodiless: boolean;
  /** The head, written with the first body bytes or at the end. */
  private head: string | null = null;

  constructor(
    readonly socket: net.Socket,
    method: string,
    private readonly keepAliveSeconds: number,
    private readonly done: (res: FastResponse) => void,
  ) {
    super();
    this.bodiless = method === 'HEAD';
  }

  writeHead(status: number, headers: OutgoingHttpHeaders | string[]): this {
    if (this.headersSent) throw new Error('headers already sent');
    if (!Number.isInteger(status) || status < 100 || status > 999) throw new RangeError(`invalid status code ${status}`);
    let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'unknown'}\r\n`;
    let date = false;
    let length = false;
    const add = (name: string, value: string): void => {
      if (!HEADER_NAME.test(name)) throw new TypeError(`invalid header name ${JSON.stringify(name)}`);
      if (value !== checkedValue) {
        if (INVALID_VALUE.test(value)) throw new TypeError(`invalid character in header ${name}`);
        if (value.length >= LONG_VALUE) checkedValue = value;
      }
      const lower = name.length === 4 || name.length === 14 ? name.toLowerCase() : '';
      if (lower === 'date') date = true;
      else if (lower === 'content-length') length = true;
      head += `${name}: ${value}\r\n`;
    };
    if (Array.isArray(headers)) {
      for (let i = 0; i < headers.length; i += 2) add(headers[i]!, headers[i + 1]!);
    } else {
      for (const [name, value] of Object.entries(headers)) {
        if (value === undefined) continue;
        if (Array.isArray(value)) for (const v of value) add(name, v);
        else add(name, String(value));
      }
    }
    if (!date) head += `Date: ${utcDate()}\r\n`;
    head += `Connection: keep-alive\r\nKeep-Alive: timeout=${this.keepAliveSeconds}\r\n`;
    if (status === 204 || status === 304 || status < 200) this.bodiless = true;
    if (!length && !this.bodiless) {
      head += 'Transfer-Encoding: chunked\r\n';
      this.chunked = true;
    }
    this.head = `${head}\r\n`;
    this.headersSent = true;
    return this;
  }

  write(chunk: Buffer): boolean {
    if (this.finished || this.destroyed) return false;
    return this.send(chunk, false);
  }

  end(chunk?: Buffer | string): this {
    if (this.finished || this.destroyed) return this;
    // The gateway always writes the head first (send, Exchange); Node's implicit head is not imitated.
    if (!this.headersSent) throw new Error('end() before writeHead()');
    this.finished = true;
    this.send(typeof chunk === 'string' ? Buffer.from(chunk) : chunk, true);
    this.done(this);
    return this;
  }

  destroy(): this {
    if (this.destroyed) return this;
    this.destroyed = true;
    // What was answered before (held for the end of the pass) was written before the cut, as it
    // was before there was a batch: it goes out first.
    writeBatch.release(this.socket);
    this.socket.destroy();
    this.closeOnce();
    return this;
  }

  /** The client's connection closed (or was handed on): a response still being written is cut. */
  socketClosed(): void {
    if (!this.finished) this.destroyed = true;
    this.closeOnce();
  }

  private send(chunk: Buffer | undefined, last: boolean): boolean {
    const head = this.head;
    this.head = null;
    const body = chunk?.length && !this.bodiless ? chunk : null;
    const framed = this.chunked && body !== null;
    const ending = last && this.chunked;
    if (head === null && !framed && !ending) {
      if (body !== null) return this.put(body, last);
      if (last) this.closeOnce();
      return true;
    }
    // Head, chunk framing and body in one buffer, written once: the head (latin1, as checked by
    // writeHead) goes straight into it, with no Buffer of its own to concatenate.
    const text = framed ? `${head ?? ''}${body.length.toString(16)}\r\n` : (head ?? '');
    const size = text.length + (body === null ? 0 : body.length + (framed ? 2 : 0)) + (ending ? LAST_CHUNK.length : 0);
    const data = Buffer.allocUnsafe(size);
    let at = data.write(text, 0, 'latin1');
    if (body !== null) {
      at += body.copy(data, at);
      if (framed) at += CRLF.copy(data, at);
    }
    if (ending) LAST_CHUNK.copy(data, at);
    return this.put(data, last);
  }

  /**
   * A response's last write (for most, its only one) is held to the end of the poll phase
   * (./write-batch.ts); so is any write to a socket with writes held, to keep their order.
   */
  private put(data: Buffer, last: boolean): boolean {
    const done = last ? () => this.closeOnce() : undefined;
    if (!last && !writeBatch.holds(this.socket)) return this.socket.write(data, done);
    writeBatch.write(this.socket, data, undefined, done);
    return true;
  }

  private closeOnce(): void {
    if (this.closed) return;
    this.closed = true;
    this.emit('close');
  }
}

const CRLF = Buffer.from('\r\n', 'latin1');
const LAST_CHUNK = Buffer.from('0\r\n\r\n', 'latin1');

export interface FastFrontOptions {
  /** Node's server: connections, or the rest of them, outside the subset go to it. */
  fallback: Server;
  /** Answers a request of the subset (the gateway: admitted and proxied as Node's server's are). */
  serve(req: FastRequest, res: FastResponse): void;
  /** What Node's server answers a request cut short by the client's end of input (its clientError). */
  malformed(socket: net.Socket): void;
  /** Idle time between requests before the connection is closed (Node's keepAliveTimeout). */
  keepAliveTimeoutMs: number;
  /**
   * How long a connection may wait for a complete first head (or the rest of a head) on the fast
   * path; then it goes to Node's server, whose own header and request timeouts apply from there.
   */
  headWaitMs?: number;
  /**
   * Read client connections into one shared buffer (`onread`, see adopt; default true). False:
   * each read is a stream 'data' event with a buffer of its own (tests compare the two).
   */
  sharedReads?: boolean;
}

/** A net.Server whose connections are served by FastConnection until one leaves the subset. */
export class FastFront {
  readonly server: net.Server;
  private readonly connections = new Set<FastConnection>();
  /** Connections handed to Node's server (tests, and the docs' claim that it is the exception). */
  handedOver = 0;

  constructor(readonly options: FastFrontOptions) {
    const shared = options.sharedReads !== false;
    // Paused on accept when it is adopted (adopt): no read reaches the accepted socket's stream.
    this.server = net.createServer({ allowHalfOpen: true, noDelay: true, pauseOnConnect: shared }, (accepted) => {
      const connection = new FastConnection(this, accepted, shared);
      this.connections.add(connection);
      connection.socket.once('close', () => this.connections.delete(connection));
      // 'connection' gives the accepted socket, an empty shell once adopted (no handle, no bytes,
      // no address): 'socket' gives the one that carries the connection, for whoever watches it.
      this.server.emit('socket', connection.socket);
    });
  }

  /** Connection done with the fast path (handed over or closed). */
  release(connection: FastConnection): void {
    this.connections.delete(connection);
  }

  /** Closes every connection still on the fast path (Node's server closes its own). */
  closeAll(): void {
    for (const connection of this.connections) {
      // Answers given in this pass (held: ./write-batch.ts) go out before the close, as written ones do.
      writeBatch.release(connection.socket);
      connection.socket.destroy();
    }
    this.connections.clear();
  }
}

/** One client connection on the fast path: its requests, one at a time, answered in order. */
class FastConnection {
  /** Bytes read and not yet taken by a request: pipelined requests, or a head not complete yet. */
  private buffered: Buffer | null = null;
  private current: FastResponse | null = null;
  private gone = false;
  /** The client ended its side: no further request is read. */
  private ending = false;
  private served = 0;
  /** The head wait is running for the head being read (it is armed once per head, not per read). */
  private waitingHead = true;
  /** Reads that left the head being read incomplete (each parses it again from its start). */
  private partialReads = 0;
  /**
   * The answers written so far exceed the socket's high-water mark (the client does not read them):
   * no further request is served until they drain, as Node's server stops parsing then.
   */
  private awaitingDrain = false;
  /** next() is running: a request answered synchronously (no await on its path) loops, not recurses. */
  private stepping = false;
  private again = false;
  /** The socket was adopted (adopt): its reads are views of READ_BUFFER, handed to read(). */
  private readonly adopted: boolean;
  /** Long header values this connection sent that passed the check (request-head.ts). */
  private readonly checked = new CheckedValues();
  /** Its last Cookie header and what of it went upstream (proxy.ts, requestHead). */
  private readonly cookieMemo: CookieMemo = { sent: '\r', upstream: null }; // no value has a CR
  /** Handed to Node's server: what an adopted socket reads goes to its stream (read). */
  private handed = false;
  readonly socket: net.Socket;
  /**
   * One read of the client's bytes: a view of READ_BUFFER (an adopted socket), valid only until
   * this returns, or a buffer of its own (a 'data' event). What is kept past the read is copied.
   */
  private readonly read = (data: Buffer): boolean => {
    // Handed over, and read by a stream consumer (an upgrade's tunnel: Node's server reads the
    // handle itself until then): the bytes go to the stream, whose backpressure pauses the read.
    if (this.handed) return this.socket.push(Buffer.from(data));
    this.buffered = this.buffered ? Buffer.concat([this.buffered, data]) : data;
    // Pipelined bytes behind a response still being written (or not yet taken by the client):
    // held, and no more read than a head's worth.
    if (this.current || this.awaitingDrain) {
      if (this.buffered.length > FAST_HEAD_LIMIT) this.socket.pause();
    } else this.next();
    if (this.buffered !== null && this.buffered.buffer === READ_BUFFER.buffer) this.buffered = Buffer.from(this.buffered);
    return true;
  };
  private readonly onData = (data: Buffer): void => void this.read(data);
  /**
   * The client ended its side. Node's server (httpAllowHalfOpen false) then aborts the requests it
   * has not answered and ends the connection, or answers a head cut short as malformed; so here.
   */
  private readonly onEnd = (): void => {
    // The answers already given go out before the end (or the malformed answer).
    writeBatch.release(this.socket);
    const partial = this.buffered !== null && endsInPartialHead(this.buffered);
    this.buffered = null;
    this.ending = true;
    this.socket.setTimeout(0);
    if (partial) return this.front.options.malformed(this.socket);
    this.socket.end();
  };
  private readonly onTimeout = (): void => {
    // Idle after a response: closed, as Node's keepAliveTimeout does. Waiting for a head: Node's turn.
    if (this.served > 0 && !this.buffered) this.socket.destroy();
    else this.handOver();
  };
  private readonly onError = (): void => void this.socket.destroy();
  private readonly onClose = (): void => {
    this.gone = true;
    this.current?.socketClosed();
    this.current = null;
  };
  private readonly onDrain = (): void => {
    if (this.current) return void this.current.emit('drain');
    if (!this.awaitingDrain) return;
    this.awaitingDrain = false;
    if (this.socket.isPaused()) this.socket.resume();
    this.next();
  };
  /** What this connection listens to on its socket (removed when it is handed over). */
  private readonly listeners: Array<[string, (data: Buffer) => void]> = [
    ['data', this.onData],
    ['end', this.onEnd],
    ['timeout', this.onTimeout],
    ['error', this.onError],
    ['close', this.onClose],
    ['drain', this.onDrain],
  ];

  constructor(
    private readonly front: FastFront,
    accepted: net.Socket,
    shared: boolean,
  ) {
    const adopted = shared ? adopt(accepted, this.read) : null;
    this.adopted = adopted !== null;
    const socket = adopted ?? accepted;
    this.socket = socket;
    if (shared && !adopted) socket.resume();
    for (const [event, listener] of this.listeners) if (!adopted || event !== 'data') socket.on(event, listener);
    socket.setTimeout(front.options.headWaitMs ?? HEAD_WAIT_MS);
  }

  /** The next request in what was read: served, left to Node's server, or waited for. */
  private next(): void {
    if (this.stepping) {
      this.again = true;
      return;
    }
    this.stepping = true;
    try {
      do {
        this.again = false;
        this.step();
      } while (this.again);
    } finally {
      this.stepping = false;
    }
  }

  private step(): void {
    if (this.current || this.awaitingDrain || this.gone || this.ending) return;
    const buffered = this.buffered;
    if (!buffered) {
      // Between requests: the keep-alive timeout (before the first: the head wait, still armed).
      if (this.served > 0) this.socket.setTimeout(this.front.options.keepAliveTimeoutMs);
      return;
    }
    const parsed = parseRequestHead(buffered, FAST_HEAD_LIMIT, this.checked);
    if (parsed.kind === 'outside') return this.handOver();
    if (parsed.kind === 'incomplete') {
      // Past MAX_PARTIAL_READS a head is Node's, whose parser goes on where it stopped: each read
      // parses (and concatenates) the head again, so a head trickled in byte by byte would cost
      // the square of its length here.
      if (buffered.length >= FAST_HEAD_LIMIT || ++this.partialReads > MAX_PARTIAL_READS) return this.handOver();
      if (!this.waitingHead) {
        this.waitingHead = true;
        this.socket.setTimeout(this.front.options.headWaitMs ?? HEAD_WAIT_MS);
      }
      return;
    }
    this.waitingHead = false;
    this.partialReads = 0;
    this.buffered = parsed.end < buffered.length ? buffered.subarray(parsed.end) : null;
    this.socket.setTimeout(0);
    const res = new FastResponse(this.socket, parsed.head.method, Math.floor(this.front.options.keepAliveTimeoutMs / 1000), (r) => this.finished(r));
    this.current = res;
    this.front.options.serve(new FastRequest(parsed.head, this.socket, this.cookieMemo), res);
  }

  private finished(res: FastResponse): void {
    if (this.current !== res) return;
    this.current = null;
    this.served++;
    // Answers held for the end of the poll phase (./write-batch.ts) count as written: past the
    // high-water mark they go out now, and backpressure applies to them as to any write.
    if (writeBatch.heldBytes(this.socket) >= this.socket.writableHighWaterMark) writeBatch.release(this.socket);
    if (this.socket.writableNeedDrain) {
      // Read on (and serve the next request) once the client has taken its answers; idle meanwhile
      // with nothing more asked, the keep-alive timeout applies as after any answer.
      this.awaitingDrain = true;
      if (!this.buffered) this.socket.setTimeout(this.front.options.keepAliveTimeoutMs);
      return;
    }
    if (this.socket.isPaused()) this.socket.resume();
    // A request already read behind this one is served once what ended this answer has returned
    // (a microtask later): that is the upstream connection's parser, which gives the connection
    // back to the pool after the response's end; served at once (its admission can be
    // synchronous), the next request would take another upstream connection.
    if (this.buffered) queueMicrotask(this.nextLater);
    else this.next();
  }

  private readonly nextLater = (): void => this.next();

  private detach(): void {
    const { socket } = this;
    socket.setTimeout(0);
    for (const [event, listener] of this.listeners) socket.off(event, listener);
    this.front.release(this);
    this.handed = this.adopted;
  }

  /**
   * The rest of the connection goes to Node's server: the bytes not yet answered go back into the
   * socket, read by the server first (tested with pipelined bytes behind them, fast-front.int-spec).
   */
  private handOver(): void {
    const { socket } = this;
    this.detach();
    this.front.handedOver++;
    // Node's server writes straight to the socket: the fast path's answers go out first.
    writeBatch.release(socket);
    if (this.adopted) {
      // Read from here on as a stream-read socket is: pause() and resume() are the stream's, so the
      // handle's reads stop only when the stream's buffer is full (read() pushes), not on every
      // pause(). Node's server pauses sockets it has done with and relies on still reading the
      // client's end of input (a half-closed socket is closed then).
      Object.assign(socket, {
        pause(this: net.Socket) {
          return Duplex.prototype.pause.call(this);
        },
        resume(this: net.Socket) {
          return Duplex.prototype.resume.call(this);
        },
      });
    }
    socket.pause();
    // Copied when it is a view of READ_BUFFER (a handover from inside a read).
    if (this.buffered) socket.unshift(this.buffered.buffer === READ_BUFFER.buffer ? Buffer.from(this.buffered) : this.buffered);
    this.buffered = null;
    this.front.options.fallback.emit('connection', socket);
    socket.resume();
  }
}

/** Where adopted client sockets read (one read at a time: what a connection keeps of it is copied). */
const READ_BUFFER = Buffer.allocUnsafeSlow(64 * 1024);

/**
 * The accepted connection (paused: `pauseOnConnect`) as a socket that reads into READ_BUFFER
 * (net.Socket's documented `onread`), so a read costs no buffer of its own and no stream 'data'
 * event: per request, the largest allocation left on the fast path. net.Server gives no `onread`
 * to the sockets it accepts, so its handle is taken into a new net.Socket, as net.Server makes its
 * own (`handle`, the option it uses); the accepted socket, left without a handle, is destroyed
 * once the new one closes, which keeps the server's connection count (getConnections, close).
 * On the fast path pause() and resume() stop and restart the handle's reads, as the docs of
 * `onread` say. A connection handed to Node's server is read by its parser on the handle itself,
 * or by a stream consumer (after an upgrade, a refusal) through FastConnection.read, which pushes
 * into the stream: it is then read exactly as a stream-read socket (handOver). Null when the
 * accepted socket has no stream handle to adopt (it is then read as a stream).
 */
function adopt(accepted: net.Socket, read: (view: Buffer) => boolean): net.Socket | null {
  const holder = accepted as unknown as { _handle: { readStart?: unknown } | null };
  const handle = holder._handle;
  if (!handle || typeof handle.readStart !== 'function') return null;
  const options = {
    handle,
    allowHalfOpen: true,
    noDelay: true,
    onread: { buffer: READ_BUFFER, callback: (length: number) => read(READ_BUFFER.subarray(0, length)) },
  };
  const socket = new net.Socket(options as unknown as net.SocketConstructorOpts);
  holder._handle = null;
  socket.once('close', () => accepted.destroy());
  return socket;
}

/** Whether `bytes` (requests pipelined behind the one being answered) end with a head cut short. */
function endsInPartialHead(bytes: Buffer): boolean {
  for (let rest = bytes; rest.length > 0;) {
    const parsed = parseRequestHead(rest);
    if (parsed.kind === 'incomplete') return true;
    // Outside the subset: Node would have parsed it (and refused it, or aborted it at the end).
    if (parsed.kind === 'outside') return false;
    rest = rest.subarray(parsed.end);
  }
  return false;
}

/** Reads a head may take on the fast path (a head from a client or proxy comes in one or a few). */
const MAX_PARTIAL_READS = 32;

/** The default of FastFrontOptions.headWaitMs. */
const HEAD_WAIT_MS = 5_000;
