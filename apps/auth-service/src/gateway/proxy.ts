import net from 'node:net';
import tls from 'node:tls';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ResponseParser, UpstreamProtocolError, parseUpgradeHead, type ResponseHead } from './response-parser.js';

/**
 * The gateway's reverse proxy. Clients are parsed by Node's HTTP server (llhttp, strict); the
 * upstream side is a small HTTP/1.1 client on pooled keep-alive sockets with a strict response
 * parser (./response-parser.ts). Node's own HTTP client (ClientRequest, Agent, IncomingMessage)
 * cost about as much CPU per proxied request as everything else in the gateway together; this
 * one does only what a reverse proxy needs and halves the CPU per request (see the README's
 * performance section).
 */

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** Headers a client must never get through to the upstream: its secret, and identity we assert. */
const STRIPPED = new Set([
  'cf-access-client-id',
  'cf-access-client-secret',
  'cf-access-jwt-assertion',
  'x-gatehouse-token-id',
  'x-gatehouse-token-name',
  'x-gatehouse-client-id',
  'x-gatehouse-app-id',
  // The gateway answers `Expect: 100-continue` itself (Node's server does); the upstream gets the body.
  'expect',
  // Framing: written by the gateway from its own parse (requestFraming), never the client's.
  'content-length',
]);

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

export interface ProxyTarget {
  upstream: URL;
  jwt: string;
  /** Extra header to strip (the app's single-header credential). */
  singleHeader: string | null;
  setCookie: string | null;
  clientIp: string;
  onError(res: ServerResponse, status: number, body: unknown): void;
}

/** An upgrade (WebSocket) request: refusals go straight to the client's socket. */
export interface TunnelTarget extends Omit<ProxyTarget, 'onError'> {
  refuse(status: number, body: unknown): void;
}

export interface UpstreamPoolOptions {
  /** No byte from the upstream for this long while a request is out: 504 (or the response is cut). */
  responseTimeoutMs?: number;
  /** An idle pooled connection is closed after this long (below Node's 5 s keep-alive default). */
  idleTimeoutMs?: number;
  /** Idle connections kept per upstream origin. */
  maxIdlePerOrigin?: number;
  /** Where rejected upstream certificates come from (tests: a private CA). */
  ca?: string | Buffer;
}

interface Origin {
  key: string;
  host: string;
  port: number;
  secure: boolean;
  servername: string | undefined;
  idle: Connection[];
}

interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  target: ProxyTarget;
  head: string;
  method: string;
  hasBody: boolean;
  chunkedBody: boolean;
  requestDone: boolean;
  responseDone: boolean;
  /** The response head, held until the first body byte or the end (a body error can still be a 502). */
  pendingHead: { status: number; headers: string[] } | null;
  headSent: boolean;
  keepAlive: boolean;
  /** How long the connection may idle in the pool after this exchange (the upstream's Keep-Alive hint). */
  idleMs: number;
  retried: boolean;
  ended: boolean;
  conn: Connection | null;
}

class Connection {
  readonly parser: ResponseParser;
  exchange: Exchange | null = null;
  /** Has served a request before: a failure before any response byte may be a stale keep-alive. */
  reused = false;
  closed = false;

  constructor(
    readonly pool: UpstreamPool,
    readonly origin: Origin,
    readonly socket: net.Socket,
  ) {
    this.parser = new ResponseParser({
      head: (h) => pool.onHead(this, h),
      body: (chunk, last) => pool.onBody(this, chunk, last),
      done: () => pool.onDone(this),
    });
    socket.on('data', (data: Buffer) => pool.onData(this, data));
    socket.on('timeout', () => pool.onTimeout(this));
    socket.on('error', () => socket.destroy());
    socket.on('end', () => socket.destroy());
    socket.on('close', () => pool.onClose(this));
  }
}

/** The JSON body of a 502/504 that the upstream caused. */
function upstreamError(status: number, reason: string): { error: string; reason: string } {
  return { error: status === 504 ? 'gateway_timeout' : 'bad_gateway', reason };
}

function bracketless(hostname: string): string {
  return hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
}

/** Keep-alive connections to the applications' upstreams, shared by every client connection. */
export class UpstreamPool {
  private readonly origins = new Map<string, Origin>();
  private readonly responseTimeoutMs: number;
  private readonly idleTimeoutMs: number;
  private readonly maxIdle: number;
  /** Both sockets of every upgrade tunnel (closed with the pool). */
  private readonly tunnels = new Set<net.Socket>();

  constructor(private readonly options: UpstreamPoolOptions = {}) {
    this.responseTimeoutMs = options.responseTimeoutMs ?? 30_000;
    this.idleTimeoutMs = options.idleTimeoutMs ?? 4_000;
    this.maxIdle = options.maxIdlePerOrigin ?? 256;
  }

  /** Idle connections per origin (tests and health). */
  idleCount(): number {
    let n = 0;
    for (const o of this.origins.values()) n += o.idle.length;
    return n;
  }

  close(): void {
    for (const o of this.origins.values()) for (const c of o.idle.splice(0)) c.socket.destroy();
    for (const s of this.tunnels) s.destroy();
    this.tunnels.clear();
  }

  /** Forwards the request to the upstream with the JWT asserted; streams both bodies. */
  forward(req: IncomingMessage, res: ServerResponse, t: ProxyTarget): void {
    const url = req.url ?? '/';
    if (url.charCodeAt(0) !== 0x2f /* "/" */) {
      return t.onError(res, 400, { error: 'bad_request', reason: 'request_target_not_a_path' });
    }
    const method = req.method ?? 'GET';
    const framing = requestFraming(req);
    if (typeof framing === 'string') return t.onError(res, 400, { error: 'bad_request', reason: framing });
    const chunkedBody = framing === CHUNKED;
    const hasBody = framing !== 0;
    const head = requestHead(req, t, method, url, framing);
    if (head === null) {
      // Two Host headers: the app was chosen by the first, an upstream might route by the second.
      return t.onError(res, 400, { error: 'bad_request', reason: 'duplicate_host_header' });
    }
    const exchange: Exchange = {
      req,
      res,
      target: t,
      head,
      method,
      hasBody,
      chunkedBody,
      requestDone: !hasBody,
      responseDone: false,
      pendingHead: null,
      headSent: false,
      keepAlive: false,
      idleMs: this.idleTimeoutMs,
      retried: false,
      ended: false,
      conn: null,
    };
    res.on('close', () => {
      // The client went away before the response was complete: the upstream exchange is abandoned.
      if (!exchange.responseDone) this.abandon(exchange);
    });
    if (hasBody) this.streamBody(exchange);
    else req.resume();
    this.send(exchange, this.originOf(t.upstream));
  }

  /**
   * An upgrade request: a connection of its own to the upstream (never pooled), the request head
   * with `Connection: Upgrade` and the client's `Upgrade`, then
   * - a `101` from the upstream: its head is relayed (plus the gateway's cookie after an exchange)
   *   and the two sockets are joined until either side closes;
   * - any other answer: relayed as it is, framed by the response parser, then both are closed.
   */
  tunnel(req: IncomingMessage, client: net.Socket, early: Buffer, t: TunnelTarget): void {
    const url = req.url ?? '/';
    if (url.charCodeAt(0) !== 0x2f) return t.refuse(400, { error: 'bad_request', reason: 'request_target_not_a_path' });
    const method = req.method ?? 'GET';
    const upgrade = String(req.headers.upgrade ?? '');
    const head = requestHead(req, t, method, url, 0, upgrade);
    if (head === null) return t.refuse(400, { error: 'bad_request', reason: 'duplicate_host_header' });
    const up = this.open(this.originOf(t.upstream));
    client.setNoDelay(true);
    let answered = false; // something of the upstream's answer went to the client
    let pending: Buffer | null = null;
    let framing: ResponseParser | null = null;
    const fail = (status: number, reason: string) => {
      if (!answered) {
        answered = true;
        t.refuse(status, upstreamError(status, reason));
      } else client.destroy();
      up.destroy();
    };
    up.setTimeout(this.responseTimeoutMs, () => fail(504, 'upstream_timeout'));
    up.on('error', () => up.destroy());
    this.tunnels.add(up).add(client);
    up.on('close', () => {
      this.tunnels.delete(up);
      // end(), not destroy(): what was relayed last must still reach the client.
      if (answered) client.end();
      else fail(502, 'upstream_unreachable');
    });
    client.on('close', () => {
      this.tunnels.delete(client);
      up.destroy();
    });
    const onData = (data: Buffer) => {
      if (framing) {
        // A non-101 answer: relayed byte for byte until the parser sees its end.
        client.write(data);
        return framing.execute(data);
      }
      const buf: Buffer = pending ? Buffer.concat([pending, data]) : data;
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) {
        if (buf.length > 64 * 1024) throw new UpstreamProtocolError('response head too large');
        pending = buf;
        return;
      }
      pending = null;
      const { status, lines } = parseUpgradeHead(buf.toString('latin1', 0, end));
      if (status === 101) {
        answered = true;
        up.off('data', onSafeData);
        up.setTimeout(0);
        const cookie = t.setCookie ? `Set-Cookie: ${t.setCookie}\r\n` : '';
        client.write(`${lines.join('\r\n')}\r\n${cookie}\r\n`, 'latin1');
        if (buf.length > end + 4) client.write(buf.subarray(end + 4));
        up.pipe(client);
        client.pipe(up);
        return;
      }
      framing = new ResponseParser({ head: () => undefined, body: () => undefined, done: () => (client.end(), up.destroy()) });
      framing.start(method);
      answered = true;
      client.write(buf);
      framing.execute(buf);
    };
    const onSafeData = (data: Buffer) => {
      try {
        onData(data);
      } catch {
        fail(502, 'upstream_protocol_error');
      }
    };
    up.on('data', onSafeData);
    up.write(head, 'latin1');
    if (early.length) up.write(early);
  }

  private originOf(u: URL): Origin {
    const secure = u.protocol === 'https:';
    const port = Number(u.port) || (secure ? 443 : 80);
    const key = `${u.protocol}//${u.hostname}:${port}`;
    let o = this.origins.get(key);
    if (!o) {
      const host = bracketless(u.hostname);
      o = { key, host, port, secure, servername: secure && !net.isIP(host) ? host : undefined, idle: [] };
      this.origins.set(key, o);
    }
    return o;
  }

  /** A new connection to the origin (TLS verified against the system's or the configured CAs). */
  private open(o: Origin): net.Socket {
    const socket = o.secure
      ? tls.connect({ host: o.host, port: o.port, servername: o.servername, ALPNProtocols: ['http/1.1'], ca: this.options.ca })
      : net.connect({ host: o.host, port: o.port });
    socket.setNoDelay(true);
    return socket;
  }

  private send(x: Exchange, o: Origin): void {
    let c = o.idle.pop();
    if (c) c.reused = true;
    else c = new Connection(this, o, this.open(o));
    c.exchange = x;
    x.conn = c;
    c.parser.start(x.method);
    c.socket.setTimeout(this.responseTimeoutMs);
    c.socket.write(x.head, 'latin1');
  }

  private streamBody(x: Exchange): void {
    const { req } = x;
    req.on('data', (chunk: Buffer) => {
      const c = x.conn;
      if (!c || c.exchange !== x || c.closed) return;
      if (chunk.length === 0) return; // an empty chunk would end a chunked body
      let ok: boolean;
      if (x.chunkedBody) {
        // All three writes, whatever each returns: a short-circuit would drop the data and its CRLF.
        ok = c.socket.write(`${chunk.length.toString(16)}\r\n`);
        ok = c.socket.write(chunk) && ok;
        ok = c.socket.write('\r\n') && ok;
      } else ok = c.socket.write(chunk);
      if (!ok) {
        req.pause();
        c.socket.once('drain', () => req.resume());
      }
    });
    req.on('end', () => {
      const c = x.conn;
      x.requestDone = true;
      if (!c || c.exchange !== x || c.closed) return;
      if (x.chunkedBody) c.socket.write('0\r\n\r\n');
    });
    req.on('aborted', () => this.abandon(x));
  }

  onData(c: Connection, data: Buffer): void {
    const x = c.exchange;
    if (!x) {
      // Bytes on an idle connection: nothing asked for them; never hand this socket out again.
      c.socket.destroy();
      return;
    }
    try {
      c.parser.execute(data);
    } catch {
      this.fail(c, x, 502, 'upstream_protocol_error');
    }
  }

  onHead(c: Connection, h: ResponseHead): void {
    const x = c.exchange;
    if (!x) return;
    x.keepAlive = h.keepAlive;
    const out: string[] = [];
    const src = h.headers;
    for (let i = 0; i < src.length; i += 2) {
      const lower = src[i]!.toLowerCase();
      if (lower === 'keep-alive') this.keepAliveHint(x, src[i + 1]!);
      if (HOP_BY_HOP.has(lower) || (h.connection.size > 0 && h.connection.has(lower))) continue;
      out.push(src[i]!, src[i + 1]!);
    }
    if (x.target.setCookie) out.push('Set-Cookie', x.target.setCookie);
    // Written with the first body byte or at the end (Node sends it no earlier either), so that an
    // error in the body's framing before then (a bad first chunk size) still answers a clean 502.
    x.pendingHead = { status: h.status, headers: out };
  }

  /**
   * `Keep-Alive: timeout=N`: the upstream closes idle connections after N seconds. Pooling one
   * longer would race that close (a request sent as the upstream hangs up), so the connection
   * idles at most N - 1 s here, and is not pooled at all when N <= 1.
   */
  private keepAliveHint(x: Exchange, value: string): void {
    const m = /(?:^|[,;\s])timeout\s*=\s*"?(\d{1,6})/i.exec(value);
    if (!m) return;
    const ms = Number(m[1]) * 1000 - 1000;
    if (ms <= 0) x.keepAlive = false;
    else x.idleMs = Math.min(x.idleMs, ms);
  }

  /** False when the head could not be written (the exchange has failed). */
  private writeHead(c: Connection, x: Exchange): boolean {
    const h = x.pendingHead;
    if (!h) return true;
    x.pendingHead = null;
    try {
      x.res.writeHead(h.status, h.headers);
    } catch {
      // A header value Node refuses to send (it validates again): the response cannot be relayed.
      this.fail(c, x, 502, 'upstream_protocol_error');
      return false;
    }
    x.headSent = true;
    return true;
  }

  onBody(c: Connection, chunk: Buffer, last: boolean): void {
    const x = c.exchange;
    if (!x || !this.writeHead(c, x)) return;
    if (last) {
      // The common small response: head and body leave in one write.
      x.ended = true;
      x.res.end(chunk);
      return;
    }
    if (!x.res.write(chunk)) {
      c.socket.pause();
      x.res.once('drain', () => c.socket.resume());
    }
  }

  onDone(c: Connection): void {
    const x = c.exchange;
    if (!x || !this.writeHead(c, x)) return;
    x.responseDone = true;
    if (!x.ended) x.res.end();
    // A response that came before the whole request body: the connection is not reused.
    if (!x.requestDone) x.keepAlive = false;
    this.release(c, x);
  }

  onTimeout(c: Connection): void {
    const x = c.exchange;
    if (!x) return void c.socket.destroy();
    this.fail(c, x, 504, 'upstream_timeout');
  }

  onClose(c: Connection): void {
    c.closed = true;
    const idle = c.origin.idle;
    const i = idle.indexOf(c);
    if (i >= 0) idle.splice(i, 1);
    const x = c.exchange;
    if (!x) return;
    if (!x.responseDone) c.parser.finish(); // a body delimited by the close: complete, onDone runs
    c.exchange = null;
    if (x.responseDone) return;
    // A reused keep-alive connection the upstream had just closed: safe to retry once if nothing
    // came back and the request can be replayed (idempotent, no body).
    if (c.reused && !c.parser.received && !x.hasBody && !x.retried && IDEMPOTENT.has(x.method) && !x.res.destroyed) {
      x.retried = true;
      return this.send(x, c.origin);
    }
    this.respondError(x, 502, 'upstream_unreachable');
  }

  /** After a complete exchange: back to the pool, or closed when it cannot carry another. */
  private release(c: Connection, x: Exchange): void {
    if (c.exchange !== x) return;
    c.exchange = null;
    if (c.closed || !x.keepAlive || c.parser.extraBytes || c.origin.idle.length >= this.maxIdle) {
      c.socket.destroy();
      return;
    }
    c.socket.setTimeout(x.idleMs);
    // Paused for the client's backpressure in the read that ended the response: a finished
    // response emits no 'drain', so without this the next exchange would never be read.
    c.socket.resume();
    c.origin.idle.push(c);
  }

  private abandon(x: Exchange): void {
    const c = x.conn;
    if (c && c.exchange === x) {
      c.exchange = null;
      c.socket.destroy();
    }
  }

  private fail(c: Connection, x: Exchange, status: number, reason: string): void {
    c.exchange = null;
    c.parser.abort();
    c.socket.destroy();
    this.respondError(x, status, reason);
  }

  private respondError(x: Exchange, status: number, reason: string): void {
    x.responseDone = true;
    if (x.headSent || x.res.headersSent) return void x.res.destroy();
    x.target.onError(x.res, status, upstreamError(status, reason));
  }
}

/** The body of a request framed as chunked (its length is unknown up front). */
const CHUNKED = -1;

/**
 * How the request's body is framed, from Node's parse (llhttp has already refused both
 * Content-Length and Transfer-Encoding, two Content-Lengths, and a Transfer-Encoding that does not
 * end in chunked): its length, CHUNKED, or the reason to refuse it. The gateway writes this framing
 * itself; the client's framing headers never reach the upstream.
 */
function requestFraming(req: IncomingMessage): number | string {
  const te = req.headers['transfer-encoding'];
  if (te !== undefined) {
    // Node decodes the chunked coding only: another coding before it (gzip, chunked) would be
    // forwarded as if it were the body's content. RFC 9112 §6.1: HTTP/1.0 with TE is faulty framing.
    if (te.trim().toLowerCase() !== 'chunked' || req.httpVersionMinor === 0) return 'unsupported_transfer_encoding';
    return CHUNKED;
  }
  const cl = req.headers['content-length'];
  return cl === undefined ? 0 : Number(cl);
}

/** Names a client's Connection header may never remove: framing, routing, what the gateway sets. */
const NEVER_LISTED = new Set(['host', 'content-length', 'transfer-encoding']);

/**
 * The request head sent upstream. Names and values come from Node's parser, which has already
 * refused CR, LF and other control characters in them; hop-by-hop headers, the headers listed in
 * Connection, the credentials and any identity header a client might forge are dropped. Null when
 * the request has two Host headers (Node keeps the first in req.headers; both in rawHeaders).
 */
function requestHead(req: IncomingMessage, t: Omit<ProxyTarget, 'onError'>, method: string, url: string, framing: number, upgrade?: string): string | null {
  const base = t.upstream.pathname === '/' ? '' : t.upstream.pathname.replace(/\/+$/, '');
  let head = `${method} ${base}${url} HTTP/1.1\r\n`;
  const single = t.singleHeader?.toLowerCase();
  const listed = req.headers.connection ? new Set(String(req.headers.connection).split(',').map((s) => s.trim().toLowerCase())) : null;
  const raw = req.rawHeaders;
  let xff: string | undefined;
  let proto = false;
  let fwdHost = false;
  let host = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || STRIPPED.has(lower) || lower === single || (listed?.has(lower) && !NEVER_LISTED.has(lower))) continue;
    if (lower === 'x-forwarded-for') {
      xff = xff === undefined ? raw[i + 1] : `${xff}, ${raw[i + 1]}`;
      continue;
    }
    if (lower === 'x-forwarded-proto') proto = true;
    else if (lower === 'x-forwarded-host') fwdHost = true;
    else if (lower === 'host') {
      if (host) return null;
      host = true;
    }
    head += `${name}: ${raw[i + 1]}\r\n`;
  }
  if (!host) head += `Host: ${t.upstream.host}\r\n`;
  if (framing === CHUNKED) head += 'Transfer-Encoding: chunked\r\n';
  else if (framing > 0 || req.headers['content-length'] !== undefined) head += `Content-Length: ${framing}\r\n`;
  if (upgrade) head += `Connection: Upgrade\r\nUpgrade: ${upgrade}\r\n`;
  head += `Cf-Access-Jwt-Assertion: ${t.jwt}\r\nX-Forwarded-For: ${xff ? `${xff}, ${t.clientIp}` : t.clientIp}\r\n`;
  if (!proto) head += 'X-Forwarded-Proto: http\r\n';
  if (!fwdHost && req.headers.host) head += `X-Forwarded-Host: ${req.headers.host}\r\n`;
  return `${head}\r\n`;
}
