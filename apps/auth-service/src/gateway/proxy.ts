import net from 'node:net';
import tls from 'node:tls';
import { IncomingMessage, STATUS_CODES, ServerResponse, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import { ResponseParser, type ResponseHead } from './response-parser.js';
import { writeBatch } from './write-batch.js';

/**
 * The gateway's reverse proxy. Clients are parsed by Node's HTTP server (llhttp, strict); the
 * upstream side is a small HTTP/1.1 client on pooled keep-alive sockets with a strict response
 * parser (./response-parser.ts). Node's own HTTP client (ClientRequest, Agent, IncomingMessage)
 * cost about as much CPU per proxied request as everything else in the gateway together; this one
 * does only what a reverse proxy needs (measured in docs/performance.md).
 *
 * Reading order: UpstreamPool (the API: forward, tunnel) → Origin (connections per upstream, the
 * limit and its short queue) → Exchange (one proxied request, its explicit phases) →
 * UpstreamConnection (a socket and its parser, serving one exchange at a time) → Tunnel (an
 * upgrade) → the request head the upstream is sent. The rules and their reasons are in
 * docs/security-upstream.md.
 */

/** Hop-by-hop headers (RFC 9110 §7.6.1): never relayed in either direction. */
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

/**
 * Request headers a client must never get through to the upstream, besides every `Cf-*` header
 * (see requestHead): its credentials (`Cf-Access-Client-Id/-Secret`), the identity the gateway asserts
 * (`Cf-Access-Jwt-Assertion`), the decision id (`Cf-Ray`, the gateway's own), and the headers
 * Cloudflare sets or overwrites, which origins moved from it trust (`Cf-Access-Authenticated-User-Email`,
 * `Cf-Connecting-IP`, `Cf-Visitor`…).
 */
const STRIPPED = new Set([
  // The identity the gateway asserts.
  'x-gatehouse-token-id',
  'x-gatehouse-token-name',
  'x-gatehouse-client-id',
  'x-gatehouse-app-id',
  // The gateway answers `Expect: 100-continue` itself (Node's server does); the upstream gets the body.
  'expect',
  // Framing: written by the gateway from its own parse (requestFraming), never the client's.
  'content-length',
  // Who and where the client is: the gateway sets X-Forwarded-For/-Host/-Proto itself (any other
  // X-Forwarded-* is dropped too); these name the same things another way.
  'forwarded',
  'x-real-ip',
  // A path other than the one the gateway judged, honoured by some frameworks (IIS, Symfony).
  'x-original-url',
  'x-rewrite-url',
  // Set by Cloudflare (Enterprise) like its Cf-* headers.
  'true-client-ip',
]);

/** Names a client's Connection header may never remove: routing and framing. */
const NEVER_LISTED = new Set(['host', 'content-length', 'transfer-encoding']);

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

/**
 * Methods whose body has no defined meaning (RFC 9110 §9.3): many origins read no body on them
 * whatever the Content-Length ("CL.0"), and would parse it as the next request on the connection.
 * Such a request that has a body is sent with `Connection: close` on a connection never reused,
 * so its body can never meet another client's request or response.
 */
const BODYLESS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'DELETE']);

/**
 * What the proxy reads of a client's request head: Node's IncomingMessage (the slow path), or the
 * fast front's parse of a request of its subset (./fast-front.ts, FastRequest; never a body).
 */
export interface RequestHead {
  method?: string;
  url?: string;
  headers: IncomingHttpHeaders;
  rawHeaders: string[];
  httpVersionMinor: number;
  socket: { remoteAddress?: string };
  /** Its connection's last Cookie header and what of it goes upstream (fast front only). */
  cookieMemo?: CookieMemo;
}

/**
 * A connection's last Cookie value and the value sent upstream for it (withoutAccessCookie): a
 * client sends the same cookie on each request, usually the very string its connection's head
 * parser kept (./request-head.ts), so it is checked and cut once. Per connection: from a directly
 * connected client, a value is only compared with what that client sent (see CheckedValues).
 */
export interface CookieMemo {
  sent: string;
  /** Null: the header is not sent upstream at all. */
  upstream: string | null;
}

/**
 * Where the answer to a client's request is written: Node's ServerResponse, or the fast front's
 * FastResponse, which writes the same bytes Node would (./fast-front.ts).
 */
export interface ClientResponse {
  readonly headersSent: boolean;
  readonly destroyed: boolean;
  /** Null while a pipelined response waits for the ones before it (Node's ServerResponse). */
  readonly socket: object | null;
  writeHead(status: number, headers: OutgoingHttpHeaders | string[]): unknown;
  write(chunk: Buffer): boolean;
  end(chunk?: Buffer | string): unknown;
  destroy(): unknown;
  on(event: 'close', listener: () => void): unknown;
  once(event: 'close' | 'drain' | 'socket', listener: () => void): unknown;
}

export interface ProxyTarget {
  upstream: URL;
  /**
   * The canonical path plus the original query (./path.ts): what was judged is what is sent. The
   * gateway always sets it; `req.url` only for direct users of the pool (its tests).
   */
  path?: string;
  jwt: string;
  /** Extra header to strip (the app's single-header credential). */
  singleHeader: string | null;
  setCookie: string | null;
  clientIp: string;
  /**
   * The decision's id: sent to the upstream and back to the client in `Cf-Ray` (the upstream's own
   * Cf-Ray is dropped). The gateway always sets it; direct users of the pool (its tests) may not.
   */
  rayId?: string;
  onError(res: ClientResponse, status: number, body: unknown): void;
}

/** An upgrade (WebSocket) request: refusals go straight to the client's socket. */
export interface TunnelTarget extends Omit<ProxyTarget, 'onError'> {
  refuse(status: number, body: unknown): void;
  /** The application the tunnel was admitted for: the gateway re-checks open tunnels on every change (./server.ts). */
  appId?: string;
  /** Closed after this long: no longer than the JWT that admitted it lives. */
  lifetimeMs?: number;
}

/** An open tunnel, as the gateway sees it: what admitted it, and the way to cut it. */
export interface OpenTunnel {
  readonly target: TunnelTarget;
  close(): void;
}

export interface UpstreamPoolOptions {
  /** No byte from the upstream for this long while a request is out: 504 (or the response is cut). */
  responseTimeoutMs?: number;
  /** An idle pooled connection is closed after this long (below Node's 5 s keep-alive default). */
  idleTimeoutMs?: number;
  /** Idle connections kept per upstream origin. */
  maxIdlePerOrigin?: number;
  /** Connections (busy and idle) per upstream origin; beyond, a request waits up to queueTimeoutMs, then 503. */
  maxConnectionsPerOrigin?: number;
  /** How long a request waits for a connection of an origin at its limit. */
  queueTimeoutMs?: number;
  /** Open upgrade tunnels, all origins together; beyond, 503. */
  maxTunnels?: number;
  /** The peer is a proxy the operator runs: its X-Forwarded-For is appended to, its X-Forwarded-Proto kept. */
  trustProxy?: boolean;
  /** Where rejected upstream certificates come from (tests: a private CA). */
  ca?: string | Buffer;
}

/** The JSON body of an error answer the upstream side caused. */
function upstreamError(status: number, reason: string): { error: string; reason: string } {
  return { error: status === 504 ? 'gateway_timeout' : status === 503 ? 'unavailable' : 'bad_gateway', reason };
}

const badRequest = (reason: string) => ({ error: 'bad_request', reason });

/** `Upgrade: websocket` (one token, any case): the only protocol the gateway tunnels. */
export function isWebSocketUpgrade(req: IncomingMessage): boolean {
  const upgrade = req.headers.upgrade;
  return upgrade !== undefined && upgrade.trim().toLowerCase() === 'websocket';
}

/**
 * An upgrade request pipelined behind a request whose response is still being written on the same
 * socket: neither a tunnel nor another response can be placed there (Node would throw, or the
 * bytes would interleave). The caller closes the connection.
 */
export function answerInProgress(socket: net.Socket): boolean {
  return Boolean((socket as { _httpMessage?: unknown })._httpMessage);
}

/**
 * A response on the socket of an upgrade request that is not tunnelled (h2c or any protocol but
 * WebSocket): answered as a plain request, then the connection is closed (what the client sent
 * after the request's head is never read).
 */
export function plainResponse(req: IncomingMessage, socket: net.Socket): ServerResponse {
  const res = new ServerResponse(req);
  res.shouldKeepAlive = false;
  res.assignSocket(socket);
  res.on('finish', () => socket.end());
  socket.on('error', () => socket.destroy());
  return res;
}

/** Keep-alive connections to the applications' upstreams, shared by every client connection. */
export class UpstreamPool {
  private readonly origins = new Map<string, Origin>();
  readonly settings: Required<Omit<UpstreamPoolOptions, 'ca'>> & { ca: string | Buffer | undefined };
  /** Every open tunnel, both sockets (closed with the pool); the one record of them. */
  private readonly tunnels = new Set<Tunnel>();

  constructor(options: UpstreamPoolOptions = {}) {
    this.settings = {
      responseTimeoutMs: options.responseTimeoutMs ?? 30_000,
      idleTimeoutMs: options.idleTimeoutMs ?? 4_000,
      maxIdlePerOrigin: options.maxIdlePerOrigin ?? 256,
      maxConnectionsPerOrigin: options.maxConnectionsPerOrigin ?? 512,
      queueTimeoutMs: options.queueTimeoutMs ?? 1_000,
      maxTunnels: options.maxTunnels ?? 10_000,
      trustProxy: options.trustProxy ?? false,
      ca: options.ca,
    };
  }

  /** Idle connections, all origins together (tests and health). */
  idleCount(): number {
    let count = 0;
    for (const origin of this.origins.values()) count += origin.idleCount;
    return count;
  }

  /** Open tunnels (metrics, tests). */
  tunnelCount(): number {
    return this.tunnels.size;
  }

  openTunnels(): Iterable<OpenTunnel> {
    return this.tunnels;
  }

  close(): void {
    for (const origin of this.origins.values()) origin.close();
    for (const tunnel of this.tunnels) tunnel.close();
    this.tunnels.clear();
  }

  /** Forwards the request to the upstream with the JWT asserted; streams both bodies. */
  forward(req: RequestHead, res: ClientResponse, target: ProxyTarget): void {
    const url = target.path ?? req.url ?? '/';
    if (url.charCodeAt(0) !== 0x2f /* "/" */) return target.onError(res, 400, badRequest('request_target_not_a_path'));
    const framing = requestFraming(req);
    if (typeof framing === 'string') return target.onError(res, 400, badRequest(framing));
    // An upgrade request answered as a plain one (plainResponse): Node read no body after its head.
    if ((req as { upgrade?: boolean }).upgrade && framing !== 0) return target.onError(res, 400, badRequest('upgrade_with_body'));
    const method = req.method ?? 'GET';
    const head = requestHead(req, target, method, url, framing, this.settings.trustProxy, false, framing !== 0 && BODYLESS.has(method));
    // Two Host headers: the app was chosen by the first, an upstream might route by the second.
    if (head === null) return target.onError(res, 400, badRequest('duplicate_host_header'));
    // The body streams from Node's request; a fast-path request (./fast-front.ts) has none.
    const body = req instanceof IncomingMessage ? req : null;
    if (framing !== 0 && !body) return target.onError(res, 400, badRequest('body_without_stream'));
    new Exchange(this.originOf(target.upstream), body, res, target, head, method, framing).begin();
  }

  /**
   * An upgrade request (WebSocket only; see isWebSocketUpgrade): a connection of its own to the
   * upstream (never pooled, not counted in the origin's limit), the request head with
   * `Connection: Upgrade` and `Upgrade: websocket`, then
   * - a `101` with `Upgrade: websocket`: its head is relayed (plus the gateway's cookie), then what
   *   the client sent after its request (held until now) goes up, and the two sockets are joined;
   * - any other answer: relayed, framed by the same response parser, then both are closed.
   * Returns the tunnel, or undefined when the request is refused (answered through `target.refuse`).
   */
  tunnel(req: IncomingMessage, client: net.Socket, early: Buffer, target: TunnelTarget): OpenTunnel | undefined {
    const url = target.path ?? req.url ?? '/';
    if (url.charCodeAt(0) !== 0x2f) return void target.refuse(400, badRequest('request_target_not_a_path'));
    if (!isWebSocketUpgrade(req)) return void target.refuse(400, badRequest('unsupported_upgrade'));
    const framing = requestFraming(req);
    if (typeof framing === 'string') return void target.refuse(400, badRequest(framing));
    if (framing !== 0) return void target.refuse(400, badRequest('upgrade_with_body'));
    const method = req.method ?? 'GET';
    const head = requestHead(req, target, method, url, 0, this.settings.trustProxy, true);
    if (head === null) return void target.refuse(400, badRequest('duplicate_host_header'));
    if (this.tunnels.size >= this.settings.maxTunnels) return void target.refuse(503, upstreamError(503, 'tunnel_limit'));
    const tunnel = new Tunnel(this.originOf(target.upstream).connect(), client, early, target, method, this.settings.responseTimeoutMs, () =>
      this.tunnels.delete(tunnel),
    );
    this.tunnels.add(tunnel);
    tunnel.begin(head);
    return tunnel;
  }

  private originOf(url: URL): Origin {
    const secure = url.protocol === 'https:';
    const port = Number(url.port) || (secure ? 443 : 80);
    const key = `${url.protocol}//${url.hostname}:${port}`;
    let origin = this.origins.get(key);
    if (!origin) {
      origin = new Origin(this.settings, url.hostname, port, secure);
      this.origins.set(key, origin);
    }
    return origin;
  }
}

/** The upstream side of one origin (scheme, host, port): its connections and the requests waiting for one. */
class Origin {
  private readonly host: string;
  private readonly servername: string | undefined;
  private readonly idle: UpstreamConnection[] = [];
  /** Connections open now, busy or idle (the limit's count). */
  private open = 0;
  /** Requests waiting for a connection while the origin is at its limit, oldest first. */
  private readonly waiting: Exchange[] = [];

  constructor(
    readonly settings: UpstreamPool['settings'],
    hostname: string,
    private readonly port: number,
    private readonly secure: boolean,
  ) {
    this.host = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
    this.servername = secure && !net.isIP(this.host) ? this.host : undefined;
  }

  get idleCount(): number {
    return this.idle.length;
  }

  /**
   * A new socket to the origin (TLS verified against the system's or the configured CAs). With
   * `onread` (a pooled connection, UpstreamConnection): a plain-TCP socket reads into the shared
   * READ_BUFFER and hands each read to it, without a stream 'data' event or a buffer of its own
   * per read (a TLS socket hands its 'data'); a tunnel's socket is a plain stream (it is piped).
   */
  connect(onread?: (data: Buffer) => void): net.Socket {
    const socket = this.secure
      ? tls.connect({ host: this.host, port: this.port, servername: this.servername, ALPNProtocols: ['http/1.1'], ca: this.settings.ca })
      : net.connect(
          onread
            ? { host: this.host, port: this.port, onread: { buffer: READ_BUFFER, callback: (length) => (onread(READ_BUFFER.subarray(0, length)), true) } }
            : { host: this.host, port: this.port },
        );
    if (this.secure && onread) socket.on('data', onread);
    socket.setNoDelay(true);
    return socket;
  }

  /** Gives the exchange a connection now, queues it, or answers 503 when the queue is full too. */
  assign(exchange: Exchange): void {
    const reused = this.idle.pop();
    if (reused) return exchange.start(reused);
    if (this.open < this.settings.maxConnectionsPerOrigin) {
      this.open++;
      return exchange.start(new UpstreamConnection(this));
    }
    if (this.waiting.length >= this.settings.maxConnectionsPerOrigin) return exchange.refuse(503, 'upstream_connection_limit');
    this.waiting.push(exchange);
    exchange.queue(this.settings.queueTimeoutMs);
  }

  /** A queued exchange gave up (its client left, or it waited too long). */
  unqueue(exchange: Exchange): void {
    const at = this.waiting.indexOf(exchange);
    if (at >= 0) this.waiting.splice(at, 1);
  }

  /** A connection that finished an exchange and can carry another: to a waiting request, or idle. */
  checkIn(connection: UpstreamConnection, idleMs: number): void {
    const next = this.waiting.shift();
    if (next) return next.start(connection);
    if (this.idle.length >= this.settings.maxIdlePerOrigin) return connection.destroy();
    connection.idle(idleMs);
    this.idle.push(connection);
  }

  /** A connection closed: its place in the limit goes to the oldest waiting request. */
  closed(connection: UpstreamConnection): void {
    this.open--;
    const at = this.idle.indexOf(connection);
    if (at >= 0) this.idle.splice(at, 1);
    const next = this.waiting.shift();
    if (next) {
      this.open++;
      next.start(new UpstreamConnection(this));
    }
  }

  close(): void {
    for (const connection of this.idle.splice(0)) connection.destroy();
    for (const exchange of this.waiting.splice(0)) exchange.refuse(503, 'upstream_connection_limit');
  }
}

/** Where an exchange is. The request body streams alongside (`requestComplete`). */
const enum Phase {
  /** Not started: waiting for its turn on the client connection (pipelined), or for a connection of an origin at its limit. */
  Queued,
  /** The request head is written; no response head yet. */
  AwaitingHead,
  /** The response head is parsed and held until the first body byte or the end, so that a framing error just after it is still a clean 502. */
  HeadHeld,
  /** The response head went to the client; the body is being relayed. */
  Relaying,
  /** The response is complete, or the exchange was answered with an error or abandoned. */
  Finished,
}

/** The body of a request framed as chunked (its length is unknown up front). */
const CHUNKED = -1;

/**
 * An answer without a body (HEAD, 204, 304) to an HTTP/1.0 client that asked for keep-alive: its
 * end is known, so the connection stays, as nginx keeps it. Node's server keeps an HTTP/1.0
 * connection only for an answer with a Content-Length (it never chunks to HTTP/1.0, RFC 9112 §6.1),
 * and closed these; the flag only lets it, since a bodiless answer is never chunked.
 */
function keepAliveWithoutBody(res: ClientResponse): void {
  if (res instanceof ServerResponse && res.shouldKeepAlive && (res.req as IncomingMessage).httpVersionMinor === 0) res.useChunkedEncodingByDefault = true;
}

/** No answer can reach the client any more: its connection closed, or its writing side ended. */
function clientGone(res: ClientResponse): boolean {
  return res.destroyed || (res.socket as { writable?: boolean } | null)?.writable === false;
}

/** One proxied request and its response. */
class Exchange {
  private phase = Phase.Queued;
  private connection: UpstreamConnection | null = null;
  private requestComplete: boolean;
  private heldHead: { status: number; headers: string[] } | null = null;
  /** The connection may serve another exchange afterwards (the upstream's keep-alive). */
  private reusable = false;
  /** How long the connection may idle in the pool afterwards (the upstream's Keep-Alive hint). */
  private idleMs: number;
  private retried = false;
  private queueTimer: NodeJS.Timeout | null = null;
  /** The upstream socket is paused for the client's backpressure, and a 'drain' listener waits. */
  private awaitingDrain = false;

  constructor(
    private readonly origin: Origin,
    /** The request's body stream (Node's request), or null for a fast-path request (no body). */
    private readonly req: IncomingMessage | null,
    private readonly res: ClientResponse,
    private readonly target: ProxyTarget,
    /** The request head as the upstream gets it. */
    private readonly head: string,
    readonly method: string,
    /** The body's length, CHUNKED, or 0 for none. */
    private readonly framing: number,
  ) {
    this.requestComplete = framing === 0;
    this.idleMs = origin.settings.idleTimeoutMs;
  }

  begin(): void {
    // The client went away (closed, or ended its side: neither front answers it then) while the
    // request was being judged: nothing starts upstream for it (nginx: proxy_ignore_client_abort off).
    if (clientGone(this.res)) return void (this.phase = Phase.Finished);
    this.res.on('close', () => {
      // The client went away before the response was complete: the upstream exchange is abandoned.
      if (this.phase !== Phase.Finished) this.abandon();
    });
    if (this.framing === 0) this.req?.resume();
    if (this.res.socket) return this.origin.assign(this);
    // Pipelined behind a request of the same client connection still being answered: Node gives
    // this response the socket only once that one has finished, and only then can its answer be
    // written. It takes an upstream connection no earlier (as nginx does), so that one write of a
    // thousand requests holds one connection, not all of the origin's. A client that goes away
    // meanwhile closes this response ('close' above: abandoned, still Queued in no origin queue),
    // and it never gets the socket.
    this.res.once('socket', () => {
      if (this.phase !== Phase.Queued) return;
      if (clientGone(this.res)) this.phase = Phase.Finished;
      else this.origin.assign(this);
    });
  }

  queue(timeoutMs: number): void {
    this.queueTimer = setTimeout(() => {
      this.origin.unqueue(this);
      this.refuse(503, 'upstream_connection_limit');
    }, timeoutMs);
  }

  /** The exchange has a connection: the head goes out, then the body (read only from now on). */
  start(connection: UpstreamConnection): void {
    if (this.queueTimer) clearTimeout(this.queueTimer);
    this.queueTimer = null;
    this.phase = Phase.AwaitingHead;
    this.connection = connection;
    connection.serve(this, this.head, this.requestComplete);
    if (!this.requestComplete) this.streamBody(connection);
  }

  private streamBody(connection: UpstreamConnection): void {
    const req = this.req!; // a body only ever comes with Node's request (forward)
    const socket = connection.socket;
    const chunked = this.framing === CHUNKED;
    req.on('data', (chunk: Buffer) => {
      if (this.connection !== connection || connection.closed || chunk.length === 0) return; // an empty chunk would end a chunked body
      let ok: boolean;
      if (chunked) {
        // All three writes, whatever each returns: a short-circuit would drop the data and its CRLF.
        ok = socket.write(`${chunk.length.toString(16)}\r\n`);
        ok = socket.write(chunk) && ok;
        ok = socket.write('\r\n') && ok;
      } else ok = socket.write(chunk);
      if (!ok) {
        req.pause();
        socket.once('drain', () => req.resume());
      }
    });
    req.on('end', () => {
      this.requestComplete = true;
      if (chunked && this.connection === connection && !connection.closed) socket.write('0\r\n\r\n');
    });
    req.on('close', () => {
      if (!req.complete) this.abandon();
    });
  }

  // The response, as the connection's parser reports it.

  onHead(head: ResponseHead): void {
    this.reusable = head.keepAlive && !(this.framing !== 0 && BODYLESS.has(this.method));
    const relayed = this.connection!.relayed(head);
    // `Keep-Alive: timeout=N`: the upstream closes idle connections after N seconds. Pooling one
    // longer would race that close (a request sent as the upstream hangs up), so the connection
    // idles at most N - 1 s here, and is not pooled at all when N <= 1.
    if (relayed.idleMs <= 0) this.reusable = false;
    else if (relayed.idleMs < this.idleMs) this.idleMs = relayed.idleMs;
    const headers = relayed.headers.slice();
    if (this.target.rayId) headers.push('Cf-Ray', this.target.rayId);
    if (this.target.setCookie) headers.push('Set-Cookie', this.target.setCookie);
    // Written with the first body byte or at the end (Node sends it no earlier either), so that an
    // error in the body's framing before then (a bad first chunk size) still answers a clean 502.
    this.heldHead = { status: head.status, headers };
    this.phase = Phase.HeadHeld;
  }

  onBody(view: Buffer, last: boolean): void {
    if (!this.writeHead()) return;
    // A view of the connection's read buffer (READ_BUFFER), reused by the next read: the client's
    // response may hold what it is given (a socket that cannot take it all now).
    const chunk = Buffer.from(view);
    if (last) {
      // The common small response: head and body leave in one write.
      this.phase = Phase.Finished;
      this.res.end(chunk);
      return;
    }
    // Paused until the client takes what it was sent: one 'drain' listener, however many of the
    // body's pieces in the same read reported backpressure.
    if (!this.res.write(chunk) && !this.awaitingDrain) {
      const socket = this.connection!.socket;
      socket.pause();
      this.awaitingDrain = true;
      this.res.once('drain', () => {
        this.awaitingDrain = false;
        socket.resume();
      });
    }
  }

  onDone(): void {
    if (!this.writeHead()) return;
    if (this.phase !== Phase.Finished) this.res.end();
    this.phase = Phase.Finished;
    const connection = this.connection!;
    this.connection = null;
    // A response that came before the whole request body: the connection is not reused.
    connection.release(this.reusable && this.requestComplete, this.idleMs);
  }

  /** False when the head could not be written (the exchange has failed). */
  private writeHead(): boolean {
    const held = this.heldHead;
    if (!held) return true;
    this.heldHead = null;
    if (held.status === 204 || held.status === 304 || this.method === 'HEAD') keepAliveWithoutBody(this.res);
    try {
      this.res.writeHead(held.status, held.headers);
    } catch {
      // A header value Node refuses to send (it validates again): the response cannot be relayed.
      this.fail(502, 'upstream_protocol_error');
      return false;
    }
    this.phase = Phase.Relaying;
    return true;
  }

  /** The connection failed this exchange (protocol error, timeout): it is closed, the client told. */
  fail(status: number, reason: string): void {
    const connection = this.connection;
    this.connection = null;
    connection?.destroy();
    this.respondError(status, reason);
  }

  /**
   * The connection closed before the response was complete. A reused keep-alive connection the
   * upstream had just closed is retried once on another when nothing came back and the request
   * can be replayed (idempotent, no body).
   */
  connectionClosed(reused: boolean, answered: boolean): void {
    this.connection = null;
    if (reused && !answered && this.framing === 0 && !this.retried && IDEMPOTENT.has(this.method) && !this.res.destroyed) {
      this.retried = true;
      this.phase = Phase.Queued;
      return this.origin.assign(this);
    }
    this.respondError(502, 'upstream_unreachable');
  }

  /** Answered without the upstream (the origin is at its limit). */
  refuse(status: number, reason: string): void {
    if (this.queueTimer) clearTimeout(this.queueTimer);
    this.queueTimer = null;
    this.respondError(status, reason);
  }

  private abandon(): void {
    if (this.phase === Phase.Finished) return;
    if (this.phase === Phase.Queued) {
      this.origin.unqueue(this);
      if (this.queueTimer) clearTimeout(this.queueTimer);
    }
    this.phase = Phase.Finished;
    const connection = this.connection;
    this.connection = null;
    connection?.destroy();
  }

  private respondError(status: number, reason: string): void {
    const relaying = this.phase === Phase.Relaying;
    this.phase = Phase.Finished;
    if (relaying || this.res.headersSent) return void this.res.destroy();
    this.target.onError(this.res, status, upstreamError(status, reason));
  }
}

/** A response head as relayed (UpstreamConnection.relayed). */
interface Relayed {
  from: readonly string[];
  headers: readonly string[];
  idleMs: number;
}

/** `Keep-Alive: timeout=N`: the ms a connection may idle in the pool (N - 1 s); Infinity without a timeout. */
function keepAliveHintMs(value: string): number {
  const match = /(?:^|[,;\s])timeout\s*=\s*"?(\d{1,6})/i.exec(value);
  return match ? Number(match[1]) * 1000 - 1000 : Infinity;
}

/**
 * Where every pooled plain-TCP upstream socket reads (Origin.connect's `onread`): one buffer for
 * all of them, as reads are handled one at a time and nothing keeps a view of it past its read
 * (the parser copies what it holds for the next read, Exchange.onBody copies the body it relays).
 */
const READ_BUFFER = Buffer.allocUnsafeSlow(64 * 1024);

/** One socket to an origin and its response parser; serves one exchange at a time. */
class UpstreamConnection {
  private readonly parser: ResponseParser;
  private exchange: Exchange | null = null;
  /** Exchanges served before the current one: a failure before any response byte may be a stale keep-alive. */
  private served = 0;
  closed = false;
  readonly socket: net.Socket;
  private lastRelayed: Relayed | null = null;

  constructor(private readonly origin: Origin) {
    this.parser = new ResponseParser({
      head: (head) => this.exchange?.onHead(head),
      body: (chunk, last) => this.exchange?.onBody(chunk, last),
      done: () => this.exchange?.onDone(),
    });
    const socket = (this.socket = origin.connect((data) => this.received(data)));
    socket.on('timeout', () => (this.exchange ? this.failExchange(504, 'upstream_timeout') : socket.destroy()));
    socket.on('error', () => socket.destroy());
    socket.on('end', () => socket.destroy());
    socket.on('close', () => this.onClose());
  }

  /**
   * What of a response head is relayed to the client (hop-by-hop headers, those its Connection
   * lists and the upstream's Cf-Ray dropped), and how long the connection may idle afterwards by
   * its Keep-Alive hints (Infinity: none; <= 0: not reused). Kept for the next response: a head
   * that repeats (ResponseParser) comes as the same headers array.
   */
  relayed(head: ResponseHead): Relayed {
    if (head.headers === this.lastRelayed?.from) return this.lastRelayed;
    const headers: string[] = [];
    const received = head.headers;
    let idleMs = Infinity;
    for (let i = 0; i < received.length; i += 2) {
      const name = received[i]!;
      const lower = name.toLowerCase();
      if (lower === 'keep-alive') idleMs = Math.min(idleMs, keepAliveHintMs(received[i + 1]!));
      if (HOP_BY_HOP.has(lower) || (head.connection.size > 0 && head.connection.has(lower)) || lower === 'cf-ray') continue;
      headers.push(name, received[i + 1]!);
    }
    this.lastRelayed = { from: received, headers, idleMs };
    return this.lastRelayed;
  }

  /** Sends `head`; held to the end of the poll phase (./write-batch.ts) when no body follows it. */
  serve(exchange: Exchange, head: string, bodiless: boolean): void {
    this.exchange = exchange;
    this.parser.start(exchange.method);
    this.socket.setTimeout(this.origin.settings.responseTimeoutMs);
    // It may still be paused for the previous client's backpressure (a finished response emits no 'drain').
    this.socket.resume();
    if (bodiless) writeBatch.write(this.socket, head, 'latin1');
    else this.socket.write(head, 'latin1');
  }

  /** After a complete exchange: back to the origin, or closed when it cannot carry another. */
  release(reusable: boolean, idleMs: number): void {
    this.exchange = null;
    this.served++;
    if (this.closed || !reusable || this.parser.extraBytes) return this.destroy();
    this.origin.checkIn(this, idleMs);
  }

  idle(idleMs: number): void {
    this.socket.setTimeout(idleMs);
    // Paused for the client's backpressure in the read that ended the response: a finished
    // response emits no 'drain', so without this the next exchange would never be read.
    this.socket.resume();
  }

  destroy(): void {
    this.exchange = null;
    this.parser.abort();
    this.socket.destroy();
  }

  private received(data: Buffer): void {
    // Bytes on an idle connection: nothing asked for them; never hand this socket out again.
    if (!this.exchange) return void this.socket.destroy();
    try {
      this.parser.execute(data);
    } catch {
      this.failExchange(502, 'upstream_protocol_error');
    }
  }

  private failExchange(status: number, reason: string): void {
    const exchange = this.exchange;
    this.destroy();
    exchange?.fail(status, reason);
  }

  private onClose(): void {
    this.closed = true;
    this.origin.closed(this);
    if (!this.exchange) return;
    this.parser.finish(); // a body delimited by the close: complete, onDone runs and detaches it
    const exchange = this.exchange;
    this.exchange = null;
    exchange?.connectionClosed(this.served > 0, this.parser.received);
  }
}

/** Where a tunnel is. */
const enum TunnelPhase {
  /** The upgrade request is out; nothing of the answer reached the client. */
  AwaitingAnswer,
  /** The upstream refused to switch: its answer is being relayed, then both sides close. */
  Relaying,
  /** 101: the sockets are joined. */
  Joined,
  Closed,
}

/** An upgrade request's own connection to the upstream, then the byte tunnel it becomes. */
class Tunnel implements OpenTunnel {
  private phase = TunnelPhase.AwaitingAnswer;
  private readonly parser: ResponseParser;
  private expiry?: NodeJS.Timeout;

  constructor(
    private readonly upstream: net.Socket,
    private readonly client: net.Socket,
    /** What the client sent after its request head: held until the upstream switches protocols. */
    private early: Buffer | null,
    readonly target: TunnelTarget,
    method: string,
    private readonly responseTimeoutMs: number,
    private readonly onClosed: () => void,
  ) {
    this.parser = new ResponseParser({
      head: (head) => this.onHead(head),
      body: (chunk) => void this.client.write(chunk),
      done: () => this.finishRelay(),
      switched: (rest) => this.join(rest),
    });
    this.parser.start(method, true);
  }

  begin(head: string): void {
    const { upstream, client } = this;
    if (this.target.lifetimeMs !== undefined) {
      this.expiry = setTimeout(() => this.close(), Math.max(0, Math.min(this.target.lifetimeMs, 2 ** 31 - 1)));
      this.expiry.unref();
    }
    client.setNoDelay(true);
    upstream.setTimeout(this.responseTimeoutMs, () => this.fail(504, 'upstream_timeout'));
    upstream.on('data', this.onUpstreamData);
    upstream.on('error', () => upstream.destroy());
    upstream.on('close', () => {
      if (this.phase === TunnelPhase.AwaitingAnswer) return this.fail(502, 'upstream_unreachable');
      if (this.phase === TunnelPhase.Relaying) {
        // A refusal delimited by the close ends here; one cut short is cut for the client too.
        if (!this.parser.finish()) this.client.destroy();
        return this.close();
      }
      // end(), not destroy(): what was relayed last must still reach the client.
      this.client.end();
      this.close();
    });
    client.on('close', () => this.close());
    upstream.write(head, 'latin1');
  }

  close(): void {
    if (this.phase === TunnelPhase.Closed) return;
    this.phase = TunnelPhase.Closed;
    clearTimeout(this.expiry);
    this.upstream.destroy();
    if (!this.client.writableEnded) this.client.destroy();
    this.onClosed();
  }

  private readonly onUpstreamData = (data: Buffer): void => {
    try {
      this.parser.execute(data);
    } catch {
      this.fail(502, 'upstream_protocol_error');
    }
  };

  private onHead(head: ResponseHead): void {
    if (head.status !== 101) {
      // Refused (a 4xx, a redirect…): relayed as a plain response, delimited by the close.
      this.phase = TunnelPhase.Relaying;
      const headers: string[] = [];
      for (let i = 0; i < head.headers.length; i += 2) {
        const lower = head.headers[i]!.toLowerCase();
        if (!HOP_BY_HOP.has(lower) && !head.connection.has(lower)) headers.push(head.headers[i]!, head.headers[i + 1]!);
      }
      return void this.client.write(this.rawHead(head.status, headers, 'Connection: close\r\n'), 'latin1');
    }
    const upgrade = valueOf(head.headers, 'upgrade');
    if (upgrade?.trim().toLowerCase() !== 'websocket' || !head.connection.has('upgrade')) {
      // A switch to another protocol than the one asked for: never joined.
      this.parser.abort();
      return this.fail(502, 'upstream_protocol_error');
    }
    this.client.write(this.rawHead(101, head.headers, ''), 'latin1');
  }

  private rawHead(status: number, headers: readonly string[], extra: string): string {
    let text = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}\r\n`;
    for (let i = 0; i < headers.length; i += 2) if (headers[i]!.toLowerCase() !== 'cf-ray') text += `${headers[i]}: ${headers[i + 1]}\r\n`;
    if (this.target.rayId) text += `Cf-Ray: ${this.target.rayId}\r\n`;
    if (this.target.setCookie) text += `Set-Cookie: ${this.target.setCookie}\r\n`;
    return `${text}${extra}\r\n`;
  }

  /** After the 101's head: the rest of that read goes to the client, then what the client held. */
  private join(rest: Buffer): void {
    const { upstream, client } = this;
    this.phase = TunnelPhase.Joined;
    upstream.off('data', this.onUpstreamData);
    upstream.setTimeout(0);
    if (rest.length) client.write(rest);
    if (this.early?.length) upstream.write(this.early);
    this.early = null;
    upstream.pipe(client);
    client.pipe(upstream);
  }

  private finishRelay(): void {
    this.client.end();
    this.close();
  }

  private fail(status: number, reason: string): void {
    if (this.phase === TunnelPhase.AwaitingAnswer) {
      this.phase = TunnelPhase.Relaying; // answered: a later close must not answer again
      this.target.refuse(status, upstreamError(status, reason));
    } else this.client.destroy();
    this.close();
  }
}

/** The first value of a header in a [name, value, …] list (case-insensitive name). */
function valueOf(headers: readonly string[], lowerName: string): string | undefined {
  for (let i = 0; i < headers.length; i += 2) if (headers[i]!.toLowerCase() === lowerName) return headers[i + 1];
  return undefined;
}

/**
 * How the request's body is framed, from Node's parse (llhttp has already refused both
 * Content-Length and Transfer-Encoding, two Content-Lengths, and a Transfer-Encoding that does not
 * end in chunked): its length, CHUNKED, or the reason to refuse it. The gateway writes this framing
 * itself; the client's framing headers never reach the upstream.
 */
function requestFraming(req: RequestHead): number | string {
  const te = req.headers['transfer-encoding'];
  if (te !== undefined) {
    // Node decodes the chunked coding only: another coding before it (gzip, chunked) would be
    // forwarded as if it were the body's content. RFC 9112 §6.1: TE in anything but HTTP/1.1 (1.0,
    // or 0.9, whose minor version is 9) is faulty framing.
    if (te.trim().toLowerCase() !== 'chunked' || req.httpVersionMinor !== 1) return 'unsupported_transfer_encoding';
    return CHUNKED;
  }
  const cl = req.headers['content-length'];
  if (cl === undefined) return 0;
  // HTTP/0.9 has no headers, so no body: llhttp still reads header lines after a request line
  // without a version, and their Content-Length.
  return req.httpVersionMinor === 9 ? 'body_in_http09_request' : Number(cl);
}

/** The tokens of a Connection header that name headers to drop (null: none, the common case). */
function connectionListed(value: string | undefined): Set<string> | null {
  if (value === undefined) return null;
  const lower = value.trim().toLowerCase();
  if (lower === 'keep-alive' || lower === 'close' || lower === '') return null;
  const listed = new Set<string>();
  for (const token of lower.split(',')) {
    const name = token.trim();
    if (name && !NEVER_LISTED.has(name)) listed.add(name);
  }
  return listed;
}

/**
 * A Cookie header that may hold the gateway's own cookie, as some origin reads names: in any case,
 * URL-decoded (PHP), with `.`, ` ` or `[` for `_` (PHP). Anything else is forwarded as it came.
 */
const ACCESS_COOKIE = /authorization|%/i;

/** A cookie name an origin may read as `CF_Authorization` (see ACCESS_COOKIE). */
function readsAsAccessCookie(name: string): boolean {
  // As PHP decodes it: `+` is a space, each valid %XX its byte, anything else as it is.
  const decoded = name
    .trim()
    .replace(/\+/g, ' ')
    .replace(/%([0-9a-fA-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  const n = decoded.toLowerCase().replace(/[.\s]/g, '_');
  return n.replace(/\[/g, '_') === 'cf_authorization' || n.startsWith('cf_authorization[');
}

/**
 * A Cookie header without `CF_Authorization` (the JWT the client presented, or one it made up): the
 * upstream is told who the client is by Cf-Access-Jwt-Assertion alone, the JWT the gateway verified
 * or issued. A `;`-separated pair is dropped when any part of it, split also at commas and
 * whitespace (separators to Python's SimpleCookie, aiohttp's, and to RFC 2965 parsers), is named so
 * an origin may read it as that cookie. The value unchanged when nothing is dropped; empty when no
 * other cookie is left.
 */
export function withoutAccessCookie(value: string): string {
  let rest = '';
  let dropped = false;
  const nameOf = (part: string) => (part.includes('=') ? part.slice(0, part.indexOf('=')) : part);
  for (const pair of value.split(';')) {
    // The pair itself (PHP reads `CF Authorization` as the name), then its parts. The pair's own
    // name first: the gateway's cookie is on most requests, and splitting its ~1 KB JWT is wasted.
    if (readsAsAccessCookie(nameOf(pair)) || pair.split(/[\s,]+/).some((part) => readsAsAccessCookie(nameOf(part)))) {
      dropped = true;
      continue;
    }
    const kept = pair.trim();
    if (kept) rest = rest ? `${rest}; ${kept}` : kept;
  }
  return dropped ? rest : value;
}

/** The address of the client's TCP peer (IPv4-mapped IPv6 written as IPv4). */
function peerAddress(req: RequestHead): string {
  const address = req.socket.remoteAddress ?? '';
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

/**
 * The request head sent upstream. Names and values come from Node's parser, which has already
 * refused CR, LF, NUL and other control characters in them. Dropped: hop-by-hop headers, the
 * headers the client's Connection lists (never Host or framing), the credentials (the
 * CF_Authorization cookie too), any identity header a client might forge, and the client's
 * forwarding headers. Added by the gateway: the
 * framing (from requestFraming), Cf-Access-Jwt-Assertion, Cf-Ray, X-Forwarded-For/-Host/-Proto.
 * Null when the request has two Host headers (Node keeps the first in req.headers; both in
 * rawHeaders).
 */
function requestHead(
  req: RequestHead,
  target: Omit<ProxyTarget, 'onError'>,
  method: string,
  url: string,
  framing: number,
  trustProxy: boolean,
  upgrade: boolean,
  close = false,
): string | null {
  const base = target.upstream.pathname === '/' ? '' : target.upstream.pathname.replace(/\/+$/, '');
  let head = `${method} ${base}${url} HTTP/1.1\r\n`;
  const single = target.singleHeader?.toLowerCase().replace(/_/g, '-');
  const listed = connectionListed(req.headers.connection);
  const raw = req.rawHeaders;
  let forwardedFor: string | undefined;
  let forwardedProto: string | undefined;
  let host = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    // CGI, WSGI, Rack and PHP read `X_Forwarded_Host` as `X-Forwarded-Host` (both are
    // HTTP_X_FORWARDED_HOST to them): what is stripped or set here is stripped in either spelling.
    const key = lower.includes('_') ? lower.replace(/_/g, '-') : lower;
    if (HOP_BY_HOP.has(key) || STRIPPED.has(key) || key.startsWith('cf-') || key === single || listed?.has(key)) continue;
    if (key.startsWith('x-forwarded-')) {
      // A proxy the operator runs said who the client is and how it connected; anyone else's claim is dropped.
      if (trustProxy && lower === 'x-forwarded-for') forwardedFor = forwardedFor === undefined ? raw[i + 1] : `${forwardedFor}, ${raw[i + 1]}`;
      else if (trustProxy && lower === 'x-forwarded-proto') forwardedProto = raw[i + 1]!.trim().toLowerCase();
      continue;
    }
    if (lower === 'host') {
      if (host) return null;
      host = true;
    } else if (lower === 'cookie') {
      const sent = raw[i + 1]!;
      const memo = req.cookieMemo;
      let rest: string | null;
      if (memo !== undefined && memo.sent === sent) rest = memo.upstream;
      else {
        // Dropped when nothing is left of it once the gateway's cookie is taken out.
        rest = ACCESS_COOKIE.test(sent) ? withoutAccessCookie(sent) || null : sent;
        if (memo !== undefined) [memo.sent, memo.upstream] = [sent, rest];
      }
      if (rest !== null) head += `${name}: ${rest}\r\n`;
      continue;
    }
    head += `${name}: ${raw[i + 1]}\r\n`;
  }
  if (!host) head += `Host: ${target.upstream.host}\r\n`;
  if (framing === CHUNKED) head += 'Transfer-Encoding: chunked\r\n';
  else if (framing > 0 || req.headers['content-length'] !== undefined) head += `Content-Length: ${framing}\r\n`;
  if (upgrade) head += 'Connection: Upgrade\r\nUpgrade: websocket\r\n';
  else if (close) head += 'Connection: close\r\n';
  const peer = peerAddress(req);
  if (target.rayId) head += `Cf-Ray: ${target.rayId}\r\n`;
  head += `Cf-Access-Jwt-Assertion: ${target.jwt}\r\nX-Forwarded-For: ${forwardedFor ? `${forwardedFor}, ${peer}` : peer}\r\n`;
  head += `X-Forwarded-Proto: ${forwardedProto === 'https' ? 'https' : 'http'}\r\n`;
  if (req.headers.host) head += `X-Forwarded-Host: ${req.headers.host}\r\n`;
  return `${head}\r\n`;
}
