import http, { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { ReplicaApp, Replica } from '../replica/replica.js';
import type { AccessControl, Allowed, Decision, Refused, Via } from './access.js';
import type { AppClaims } from './jwt.js';
import type { GatewayMetrics } from './metrics.js';
import { headerValue, jwtOf, presentedJwt, serviceCredentials } from './credentials.js';
import { DecisionLog } from './decision-log.js';
import { originalRequest, type ForwardAuthMode } from './forward-auth.js';
import { canonicalTarget } from './path.js';
import { RayIds } from './ray.js';
import { FastFront, type FastRequest, type FastResponse } from './fast-front.js';
import {
  UpstreamPool,
  answerInProgress,
  isWebSocketUpgrade,
  plainResponse,
  type ClientResponse,
  type OpenTunnel,
  type ProxyTarget,
  type RequestHead,
  type UpstreamPoolOptions,
} from './proxy.js';
import { FailedAttempts, type RateLimiter } from './rate-limiter.js';
import type { Recorder } from './recorder.js';
import { then, type Soon } from './soon.js';
import { strictFor, strictRefusal } from './strict.js';

export const ACCESS_PREFIX = '/cdn-cgi/access/';
/** Headers some origins take as the request's path (never sent on by the gateway). */
const PATH_OVERRIDES = ['x-original-url', 'x-rewrite-url'];

export interface GatewayDeps {
  replica: Replica;
  access: AccessControl;
  /** Failed attempts per client id. */
  limiter: RateLimiter;
  /** Failed attempts per source address. */
  ipLimiter: RateLimiter;
  recorder: Recorder;
  certs(): string;
  /**
   * Whether the signing keys are loaded (default: always). Until then, as until the replica is
   * loaded, decisions and the JWKS answer 503: a deployment's first start makes its first key
   * while the replica loads.
   */
  keysLoaded?: () => boolean;
  /** The health detail; the public answer is `{ status }` unless `healthDetails`. */
  health(): { status: string } & Record<string, unknown>;
  /** GATEHOUSE_HEALTH_DETAILS: answer the whole health detail (key ids, revision, errors) to anyone. */
  healthDetails?: boolean;
  /** GATEHOUSE_FORWARD_AUTH_HEADERS (default `auto`). */
  forwardAuthHeaders?: ForwardAuthMode;
  trustProxy: boolean;
  cookieSecure: boolean;
  now?: () => number;
  /** An unexpected error while answering the request with decision id `rayId`. */
  onError?(error: Error, rayId: string): void;
  /**
   * Every decision, for the service log (set at GATEHOUSE_LOG_LEVEL=debug only): its id, app,
   * result, reason, the token's name and client id as presented, source and how it came. Never a
   * secret or a JWT.
   */
  logDecision?: (fields: Record<string, unknown>) => void;
  upstreams?: UpstreamPoolOptions;
  metrics?: GatewayMetrics;
  /**
   * Serve the strict subset of requests on the fast front (./fast-front.ts; default true). False:
   * every connection goes straight to Node's server (tests compare the two answers).
   */
  fastFront?: boolean;
  /**
   * Node's server: how long a request may take to arrive whole (its `requestTimeout`; also its
   * `headersTimeout`), beyond which it is answered 408. 60 s; tests make it short.
   */
  requestTimeoutMs?: number;
}

/** Answers a request that is refused (or fails) with a short JSON body. */
type Reply = (status: number, body: unknown, headers?: Record<string, string>) => void;

/** The same answer written straight to a socket: an upgrade request has no ServerResponse. */
function sendRaw(socket: Duplex, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (!socket.writable) return void socket.destroy();
  const text = JSON.stringify(body);
  let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\ncontent-type: application/json; charset=utf-8\r\ncache-control: no-store\r\ncontent-length: ${Buffer.byteLength(text)}\r\n`;
  for (const [k, v] of Object.entries(headers)) head += `${k}: ${v}\r\n`;
  socket.end(`${head}connection: close\r\n\r\n${text}`);
  // The socket may be paused (an upgrade request): read on to see the client's close, and do not
  // wait for it forever.
  socket.resume();
  if ('setTimeout' in socket) (socket as Socket).setTimeout(10_000, () => socket.destroy());
}

/**
 * Runs `then` once the answers Node's server owes on `socket` are written: the response in
 * progress and those queued behind it (Node gives the next one the socket as one finishes), as
 * long as their requests were read whole. A request whose own bytes were malformed has none.
 */
function afterAnswers(socket: Duplex, then: () => void): void {
  const res = (socket as { _httpMessage?: ServerResponse | null })._httpMessage;
  if (!res || !res.req.complete) return then();
  res.once('close', () => afterAnswers(socket, then));
}

/** Connections whose malformed request is refused (or will be, after the answers before it). */
const refusedSockets = new WeakSet<Duplex>();
/** Connections whose last request is being answered: an HTTP/1.0 one that said both keep-alive and close. */
const closingSockets = new WeakSet<Duplex>();

/**
 * Requests of one connection that Node's server has parsed and not yet answered, at most. Beyond,
 * it reads no more of that connection until one is answered. A request pipelined behind another
 * waits for its turn unanswered (it is judged then), so Node's own check, which pauses a
 * connection once the answers waiting behind others hold 16 KiB, never fires: without this a
 * client could have hundreds of thousands of requests parsed and held (hundreds of MB), and their
 * teardown when it reset the connection stalled the process for many seconds. (Requests Node
 * answers itself, never emitted: a 417 for an unknown Expect, a 400 for HTTP/1.1 without Host,
 * are held by Node's own check, since their answers wait as bytes.)
 */
export const MAX_PIPELINED_REQUESTS = 64;
/** A connection of Node's server, with the fields of Node's own pause for pipelined requests (node:_http_server). */
type ServerSocket = Duplex & { _paused?: boolean; parser?: { pause(): void; resume(): void } | null };
/** Per connection of Node's server: its requests parsed and not answered yet. */
const waitingRequests = new WeakMap<Duplex, number>();
/** Connections paused here for their waiting requests (not by Node for its waiting answers' bytes). */
const pausedForWaiting = new WeakSet<Duplex>();

function pauseForWaiting(socket: ServerSocket): void {
  socket._paused = true;
  pausedForWaiting.add(socket);
  socket.pause();
}

/**
 * Counts a request Node's server parsed until its answer ends. At the limit the connection is
 * paused as Node pauses one whose waiting answers hold too much (`_paused`, then its parser once
 * the read in hand is parsed), and reads on once fewer wait.
 */
function countWaiting(socket: ServerSocket, res: ServerResponse): void {
  if (!waitingRequests.has(socket)) {
    // Node resumes a connection it finds paused whenever the answer being written drains
    // (socketOnDrain): paused again at once, before its next read, while too many still wait.
    socket.on('resume', () => {
      if ((waitingRequests.get(socket) ?? 0) >= MAX_PIPELINED_REQUESTS && !socket._paused && !socket.destroyed) {
        socket.parser?.pause();
        pauseForWaiting(socket);
      }
    });
  }
  const waiting = (waitingRequests.get(socket) ?? 0) + 1;
  waitingRequests.set(socket, waiting);
  if (waiting >= MAX_PIPELINED_REQUESTS && !socket._paused) pauseForWaiting(socket);
  res.once('close', () => {
    const left = waitingRequests.get(socket)! - 1;
    waitingRequests.set(socket, left);
    if (left < MAX_PIPELINED_REQUESTS && pausedForWaiting.has(socket)) {
      pausedForWaiting.delete(socket);
      if (!socket._paused || socket.destroyed) return; // Node resumed it meanwhile, or it is gone
      socket._paused = false;
      socket.parser?.resume();
      socket.resume();
    }
  });
}

/** Answers through `reply`; null, for `return refused(…)` in functions that admit or refuse. */
function refused(reply: Reply, status: number, body: unknown): null {
  reply(status, body);
  return null;
}

function send(res: ClientResponse, status: number, body: unknown, headers: Record<string, string | string[]> = {}): void {
  if (res.headersSent) return void res.destroy();
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/** A Connection field (Node joins repeated fields with ", ") that lists the `close` option. */
function saysClose(connection: string | undefined): boolean {
  return connection !== undefined && connection.split(',').some((option) => option.trim().toLowerCase() === 'close');
}

function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

/**
 * What authentication concluded for one request: the decision (recorded as it is) and how the
 * client is answered when refused: after `retryAfter` seconds (429), or with `reason` when it
 * differs from the decision's.
 */
interface Verdict {
  decision: Decision;
  via: Via;
  retryAfter?: number;
  reason?: string;
}

/** An admitted request: its app, the decision, and what its upstream is sent. */
interface Admitted {
  app: ReplicaApp;
  decision: Allowed;
  target: Omit<ProxyTarget, 'onError'>;
}

/** A 401 of the gateway's own (no token found for it). */
function unauthorized(app: ReplicaApp, reason: string, detail: string, clientId: string | null, guess: boolean): Refused {
  return { ok: false, status: 401, reason, detail, app, token: null, clientId, guess };
}

const TOO_MANY = { error: 'too_many_requests', reason: 'too_many_failed_attempts' };

/** The answer to a refused request. */
function refusal(v: Verdict & { decision: Refused }): [status: number, body: unknown, headers?: Record<string, string>] {
  if (v.retryAfter) return [429, TOO_MANY, { 'retry-after': String(v.retryAfter) }];
  const status = v.decision.status;
  return [status, { error: status === 401 ? 'unauthorized' : 'forbidden', reason: v.reason ?? v.decision.reason }];
}

/**
 * The data plane (no framework on the hot path): a net.Server whose connections are read by the
 * fast front (./fast-front.ts) while their requests stay in its strict subset, and by Node's HTTP
 * server from the first request outside it on.
 * - `/cdn-cgi/access/certs`, `/get-identity`, `/health`, `/authorize[/…]` on every host (Node's server);
 * - anything else: the application of the Host (and path prefix), authenticated, proxied.
 */
export class Gateway {
  /** Node's server: every request outside the fast front's subset. */
  readonly server: http.Server;
  /** What listens: the fast front, which hands connections to `server`. */
  readonly front: FastFront;
  readonly upstreams: UpstreamPool;
  private readonly now: () => number;
  private readonly attempts: FailedAttempts;
  private readonly log: DecisionLog;
  private readonly rays = new RayIds();
  /** The Set-Cookie value last built for an issued JWT (keyed by its claims, which live as long as it is reused). */
  private readonly cookies = new WeakMap<AppClaims, { app: ReplicaApp; jwt: string; second: number; text: string }>();

  constructor(private readonly d: GatewayDeps) {
    this.now = d.now ?? Date.now;
    this.attempts = new FailedAttempts(d.limiter, d.ipLimiter);
    this.log = new DecisionLog(d.recorder, d.metrics, this.now, d.logDecision);
    this.upstreams = new UpstreamPool({ trustProxy: d.trustProxy, ...d.upstreams });
    d.replica.onChange(() => this.recheckTunnels());
    const keepAliveTimeout = 65_000;
    const requestTimeout = d.requestTimeoutMs ?? 60_000;
    // Node checks its connections' timeouts this often (30 s by default, however short the timeout).
    const connectionsCheckingInterval = Math.min(30_000, Math.max(10, Math.floor(requestTimeout / 4)));
    this.server = http.createServer({ maxHeaderSize: 64 * 1024, keepAliveTimeout, requestTimeout, connectionsCheckingInterval }, (req, res) => {
      // llhttp keeps an HTTP/1.0 connection that asks for keep-alive even if it also says close
      // (`Connection: keep-alive, close`, or two fields), and goes on parsing what follows. Close
      // wins (RFC 9112 §9.6): the answer ends the connection, and a request parsed after it is
      // ignored (never authenticated, logged or answered), as after HTTP/1.1's close, which
      // llhttp stops at itself.
      // Counted too: an ignored request is never answered, so the connection reads no further
      // than the limit (its last answer ends it).
      if (closingSockets.has(req.socket)) return void countWaiting(req.socket, res);
      if (req.httpVersionMinor === 0 && res.shouldKeepAlive && saysClose(req.headers.connection)) {
        res.shouldKeepAlive = false;
        closingSockets.add(req.socket);
      }
      countWaiting(req.socket, res);
      const handle = () => {
        // Node's parser refused this request's own framing, after its head (a body it will not
        // parse): that refusal is its answer ('clientError' below), and it is neither judged nor
        // logged (nothing of it is forwarded). The requests read whole before a malformed one
        // are still answered.
        if (refusedSockets.has(req.socket) && !req.complete) return;
        const url = req.url ?? '/';
        if (url.startsWith(ACCESS_PREFIX)) this.answer(res, (ray) => this.access(req, res, pathOf(url).slice(ACCESS_PREFIX.length), ray));
        else this.answer(res, (ray, start) => this.proxy(req, res, ray, start));
      };
      // Node emits a request from inside its parser, which goes on to parse what follows the head
      // in the same read: bytes it finds malformed are refused ('clientError' below) before any
      // answer to the request, a 404 or 401 as much as a 200. So the request is handled a
      // microtask later. A request pipelined behind one still being answered is handled only when
      // its turn comes (Node gives its response the socket then), as on the fast front: it is
      // judged on the replica as it is then, so a token deleted meanwhile is refused, not let
      // through on a verdict taken while it waited.
      if (res.socket) queueMicrotask(handle);
      else res.once('socket', handle);
    });
    this.front = new FastFront({
      fallback: this.server,
      serve: (req: FastRequest, res: FastResponse) => this.answer(res, (ray, start) => this.proxy(req, res, ray, start)),
      malformed: (socket) =>
        this.server.emit('clientError', Object.assign(new Error('Parse Error: Invalid EOF state'), { code: 'HPE_INVALID_EOF_STATE' }), socket),
      keepAliveTimeoutMs: keepAliveTimeout,
    });
    if (d.fastFront === false) {
      // Accepted paused (the fast front's pauseOnConnect): Node's server reads from its resume on.
      this.front.server.removeAllListeners('connection').on('connection', (socket: Socket) => {
        this.front.server.emit('socket', socket);
        this.server.emit('connection', socket);
        socket.resume();
      });
    }
    // Upgrades (WebSocket): authenticated like any request, then tunnelled to the upstream.
    this.server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
      if (answerInProgress(socket)) return void socket.destroy();
      // Only WebSocket is tunnelled; any other protocol (h2c…) is a plain request, Upgrade dropped.
      if (!isWebSocketUpgrade(req)) return void this.server.emit('request', req, plainResponse(req, socket));
      // Hold what the client sends early (a WebSocket frame) until the tunnel is joined.
      socket.pause();
      socket.on('error', () => socket.destroy());
      const ray = this.rays.next();
      this.upgrade(req, socket, head, ray).catch((error: Error) => {
        d.onError?.(error, ray);
        sendRaw(socket, 503, { error: 'unavailable', reason: 'internal' }, { 'cf-ray': ray });
      });
    });
    // CONNECT (a tunnel to a host of the client's choosing) is no request for an application.
    this.server.on('connect', (_req: IncomingMessage, socket: Socket) => {
      socket.on('error', () => socket.destroy());
      sendRaw(socket, 405, { error: 'method_not_allowed', reason: 'connect_not_supported' });
    });
    // A malformed request (bad header bytes, header too large) gets a plain 4xx, never a 500.
    this.server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
      // Bytes after a request that closes the connection (`Connection: close`, HTTP/1.0 without
      // keep-alive): not read (RFC 9112 §9.6), not refused either. The answer to that request is
      // still written and ends the connection, as nginx does; a 400 here took its place.
      if (err.code === 'HPE_CLOSED_CONNECTION') return;
      // Node reports the same parse error again for each later read of the connection: it is
      // refused once (a refusal waiting behind a pending answer must not gain a listener per read).
      if (refusedSockets.has(socket)) return;
      refusedSockets.add(socket);
      // A request that did not arrive whole in time (Node's requestTimeout or headersTimeout) is
      // no malformed one: 408, as Node's own handler answers it.
      const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
      const body =
        status === 408
          ? { error: 'request_timeout', reason: 'request_not_received_in_time' }
          : { error: 'bad_request', reason: status === 431 ? 'headers_too_large' : 'malformed_request' };
      const refuse = () => sendRaw(socket, status, body);
      // The requests read whole before the malformed one are answered first, in order (RFC 9112
      // §9.3.2): the refusal must not take their answers' place. Not so for a head cut short by the
      // client's end of input: it has gone, its answers are abandoned (as the fast front does).
      if (err.code === 'HPE_INVALID_EOF_STATE') refuse();
      else afterAnswers(socket, refuse);
    });
  }

  get openTunnels(): number {
    return this.upstreams.tunnelCount();
  }

  /**
   * Listens on `host`:`port`. `reusePort`: a socket of this process's own in the port's
   * SO_REUSEPORT group (in a node:cluster worker, instead of the primary's handle): the kernel
   * spreads new connections over the group's sockets. (node:cluster then emits no 'listening'
   * event for the worker in the primary; nothing here waits for it.)
   */
  listen(port: number, host: string, reusePort = false): Promise<number> {
    const listener = this.front.server;
    return new Promise((resolve, reject) => {
      listener.once('error', reject);
      listener.listen({ port, host, ...(reusePort ? { exclusive: true, reusePort: true } : {}) }, () => {
        // Node's server tracks its connections (closeAllConnections, and the checks behind
        // requestTimeout and headersTimeout) from its 'listening' event on: it never listens itself.
        this.server.emit('listening');
        const a = listener.address();
        resolve(typeof a === 'object' && a ? a.port : port);
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.front.server.close(() => resolve());
      this.front.closeAll();
      this.server.close();
      this.server.closeAllConnections();
      this.upstreams.close();
    });
  }

  private clientIp(req: RequestHead): string {
    const peer = (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
    if (!this.d.trustProxy) return peer;
    const xff = headerValue(req.headers['x-forwarded-for']);
    const last = xff?.split(',').pop()?.trim();
    return last && last.length <= 64 ? last : peer;
  }

  /**
   * One request of either front: its decision id `ray` (every answer carries it in `Cf-Ray`; the
   * upstream is sent it too), its duration measured, and a 503 for an unexpected error.
   */
  private answer(res: ClientResponse, handle: (ray: string, start: number) => Soon<void>): void {
    const ray = this.rays.next();
    const metrics = this.d.metrics;
    const start = metrics ? performance.now() : 0;
    if (metrics) res.once('close', () => metrics.requestDone(start));
    const fail = (error: Error): void => {
      this.d.onError?.(error, ray);
      send(res, 503, { error: 'unavailable', reason: 'internal' }, { 'cf-ray': ray });
    };
    // Synchronous when the admission was (./soon.ts): a throw then is the same failure as a rejection.
    let done: Soon<void>;
    try {
      done = handle(ray, start);
    } catch (error) {
      return fail(error as Error);
    }
    if (done instanceof Promise) done.catch(fail);
  }

  /** A request for an application: admitted, then proxied. */
  private proxy(req: RequestHead, res: ClientResponse, ray: string, start: number): Soon<void> {
    const admitted = this.admit(req, (status, body, headers) => send(res, status, body, { ...headers, 'cf-ray': ray }), ray);
    return then(admitted, (a) => {
      if (!a) return;
      const metrics = this.d.metrics;
      metrics?.forwarded(start);
      this.upstreams.forward(req, res, {
        ...a.target,
        onError: (r, status, body) => {
          if (metrics && status >= 502) metrics.upstreamError((body as { reason?: string }).reason ?? 'unknown');
          send(r, status, body, { 'cf-ray': ray });
        },
      });
    });
  }

  /** Why no decision can be taken yet (503), or null once the replica and the signing keys are loaded. */
  private loading(): 'replica_loading' | 'signing_keys_loading' | null {
    if (!this.d.replica.loaded) return 'replica_loading';
    return this.d.keysLoaded && !this.d.keysLoaded() ? 'signing_keys_loading' : null;
  }

  /**
   * A request for an application (proxied or upgraded): its app by Host and path, authenticated,
   * and what the upstream is sent; or null, answered through `reply`.
   */
  private admit(req: RequestHead, reply: Reply, ray: string): Soon<Admitted | null> {
    // One canonical path: the application is chosen by it and the upstream is sent it.
    const canonical = canonicalTarget(req.url ?? '/');
    if (!canonical.ok) return refused(reply, 400, { error: 'bad_request', reason: canonical.reason });
    // Symfony, Laminas and IIS URL Rewrite route by these instead of the request target: a path
    // of the client's choosing that the gateway would not have judged.
    if (PATH_OVERRIDES.some((h) => req.headers[h] !== undefined)) return refused(reply, 400, { error: 'bad_request', reason: 'path_override_header' });
    const loading = this.loading();
    if (loading) return refused(reply, 503, { error: 'unavailable', reason: loading });
    const app = this.d.replica.findApp(headerValue(req.headers.host) ?? '', canonical.path);
    if (!app) return refused(reply, 404, { error: 'not_found', reason: 'no_application_for_host' });
    const ip = this.clientIp(req);
    const decided = this.authenticate(req, reply, app, ip, 'service_token', ray);
    return then(decided, (decision) => decision && this.admitted(reply, app, decision, canonical, ip, ray));
  }

  /** What an admitted request's upstream is sent (or a 502 when the app has none). */
  private admitted(reply: Reply, app: ReplicaApp, decision: Allowed, canonical: { path: string; query: string }, ip: string, ray: string): Admitted | null {
    if (!app.upstreamUrl) return refused(reply, 502, { error: 'bad_gateway', reason: 'application_has_no_upstream' });
    const target = {
      upstream: app.upstreamUrl,
      path: canonical.path + canonical.query,
      jwt: decision.jwt,
      singleHeader: app.readServiceTokensFromHeader,
      setCookie: decision.exchanged && !strictFor(this.d.replica, app) ? this.cookie(app, decision.jwt, decision.claims) : null,
      clientIp: ip,
      rayId: ray,
    };
    return { app, decision, target };
  }

  private async access(req: IncomingMessage, res: ServerResponse, route: string, ray: string): Promise<void> {
    if (route === 'certs') {
      // Never an empty key set that relying parties would cache for a minute.
      if (this.d.keysLoaded && !this.d.keysLoaded()) return send(res, 503, { error: 'unavailable', reason: 'signing_keys_loading' });
      return send(res, 200, this.d.certs(), { 'cache-control': 'public, max-age=60' });
    }
    if (route === 'health') {
      const health = this.d.health();
      return send(res, 200, this.d.healthDetails ? health : { status: health.status });
    }
    const loading = this.loading();
    if (loading) return send(res, 503, { error: 'unavailable', reason: loading });
    // Decisions: every answer names its id (Node merges it into writeHead's headers).
    res.setHeader('cf-ray', ray);
    if (route === 'get-identity') return this.identity(req, res, ray);
    if (route === 'authorize' || route.startsWith('authorize/')) return this.forwardAuth(req, res, route.slice('authorize'.length), ray);
    return send(res, 404, { error: 'not_found', reason: 'unknown_endpoint' });
  }

  /** GET /cdn-cgi/access/get-identity: who the presented JWT belongs to. */
  private async identity(req: IncomingMessage, res: ServerResponse, ray: string): Promise<void> {
    const found = jwtOf(req.headers);
    if (!found || 'invalid' in found) return send(res, 401, { error: 'unauthorized', reason: found ? 'invalid_jwt' : 'no_credentials' });
    // The JWT's own audience names the application (verified below: signature, revocations, policy).
    const byAud = (aud: string[]) => {
      for (const a of aud) {
        const app = this.d.replica.appByAud(a);
        if (app) return app;
      }
      return undefined;
    };
    const decision = await this.d.access.checkJwt(null, found.jwt, byAud);
    if (decision.app) this.log.record(decision, this.clientIp(req), 'jwt', ray);
    if (!decision.ok) return send(res, decision.status, { error: decision.status === 401 ? 'unauthorized' : 'forbidden', reason: decision.reason });
    const { token, app, claims } = decision;
    return send(res, 200, {
      type: 'app',
      id: token.id,
      name: token.name,
      client_id: token.clientId,
      common_name: token.clientId,
      token_id: token.id,
      account_id: token.accountId,
      app: { id: app.id, name: app.name, aud: app.aud, domain: app.domain },
      iat: claims.iat,
      exp: claims.exp,
    });
  }

  /**
   * Forward auth (nginx auth_request, Traefik forwardAuth, Envoy ext_authz): the original request
   * is named by the headers GATEHOUSE_FORWARD_AUTH_HEADERS trusts (./forward-auth.ts), and judged
   * on the same canonical path as a proxied request. 200 with the JWT and identity headers, 400
   * when the original request cannot be known, or 401/403 (429 when rate limited).
   */
  private async forwardAuth(req: IncomingMessage, res: ServerResponse, rest: string, ray: string): Promise<void> {
    const original = originalRequest(this.d.forwardAuthHeaders ?? 'auto', req.headers, req.rawHeaders, rest);
    if ('reason' in original) return send(res, 400, { error: 'bad_request', reason: original.reason });
    const canonical = canonicalTarget(original.target);
    if (!canonical.ok) return send(res, 400, { error: 'bad_request', reason: canonical.reason });
    const app = this.d.replica.findApp(original.host, canonical.path);
    if (!app) return send(res, 404, { error: 'not_found', reason: 'no_application_for_host' });
    const decision = await this.authenticate(req, (status, body, headers) => send(res, status, body, headers), app, this.clientIp(req), 'forward_auth', ray);
    if (!decision) return;
    const headers: Record<string, string | string[]> = {
      'cf-access-jwt-assertion': decision.jwt,
      'x-gatehouse-token-id': decision.token.id,
      'x-gatehouse-token-name': encodeURIComponent(decision.token.name),
      'x-gatehouse-client-id': decision.token.clientId,
      'x-gatehouse-app-id': decision.app.id,
    };
    if (decision.exchanged && !strictFor(this.d.replica, app)) headers['set-cookie'] = this.cookie(decision.app, decision.jwt, decision.claims);
    res.writeHead(200, { 'cache-control': 'no-store', 'content-length': 0, ...headers });
    res.end();
  }

  /**
   * An upgrade request (WebSocket) on an application's host: the same authentication as any
   * request, then a byte tunnel to the upstream once it answers 101. Access endpoints never upgrade.
   */
  private async upgrade(req: IncomingMessage, socket: Socket, head: Buffer, ray: string): Promise<void> {
    const reply: Reply = (status, body, headers) => sendRaw(socket, status, body, { ...headers, 'cf-ray': ray });
    if ((req.url ?? '/').startsWith(ACCESS_PREFIX)) return reply(400, { error: 'bad_request', reason: 'upgrade_not_supported' });
    const generation = this.d.replica.generation;
    const admitted = await this.admit(req, reply, ray);
    if (!admitted) return;
    const { app, decision, target } = admitted;
    // A tunnel lives no longer than the JWT that admitted it, and is cut as soon as that JWT would
    // be refused (token deleted or disabled, sessions revoked, policy changed: recheckTunnels).
    const tunnel = this.upstreams.tunnel(req, socket, head, { ...target, refuse: reply, appId: app.id, lifetimeMs: decision.claims.exp * 1000 - this.now() });
    // A change applied while the admission waited (a JWT signed or verified) re-checked only the
    // tunnels open then: this one is checked now.
    if (tunnel && this.d.replica.generation !== generation) this.recheck(tunnel);
  }

  private recheckTunnels(): void {
    for (const tunnel of this.upstreams.openTunnels()) this.recheck(tunnel);
  }

  /** Cuts `tunnel` if its JWT would be refused now (or its application is gone). */
  private recheck(tunnel: OpenTunnel): void {
    const { appId, jwt } = tunnel.target;
    const app = appId === undefined ? undefined : this.d.replica.app(appId);
    if (!app) return tunnel.close();
    // Never a throw here (a replica change is being applied): an error closes the tunnel.
    Promise.resolve()
      .then(() => this.d.access.checkJwt(app, jwt))
      .then(
        (decision) => void (decision.ok || tunnel.close()),
        () => tunnel.close(),
      );
  }

  /** Authenticates for `app`: the verdict is recorded; a refusal is answered through `reply` (null). */
  private authenticate(req: RequestHead, reply: Reply, app: ReplicaApp, ip: string, mode: Via, ray: string): Soon<Allowed | null> {
    const now = this.now();
    return then(this.judge(req, app, ip, mode, now), (verdict) => this.settle(verdict, reply, ip, ray, now));
  }

  /** A verdict recorded; a refusal answered through `reply` (null). */
  private settle(verdict: Verdict, reply: Reply, ip: string, ray: string, now: number): Allowed | null {
    const { decision } = verdict;
    this.log.record(decision, ip, verdict.via, ray);
    if (!decision.ok) {
      reply(...refusal({ ...verdict, decision }));
      return null;
    }
    this.log.seen(decision.token.id, now);
    return decision;
  }

  /** The credentials of the request judged for `app`, failed attempts counted (./rate-limiter.ts FailedAttempts). */
  private judge(req: RequestHead, app: ReplicaApp, ip: string, mode: Via, now: number): Soon<Verdict> {
    const addressWait = this.attempts.addressWait(ip, now);
    if (addressWait) return { decision: unauthorized(app, 'too_many_failed_attempts', 'rate_limited_ip', null, false), via: mode, retryAfter: addressWait };
    const strict = strictFor(this.d.replica, app) ? strictRefusal(req, app.readServiceTokensFromHeader) : null;
    if (strict) {
      this.attempts.failed(ip, now);
      return { decision: unauthorized(app, 'invalid_credentials', strict, null, true), via: mode, reason: strict };
    }
    const creds = serviceCredentials(req.headers, app.readServiceTokensFromHeader);
    if (creds.kind === 'service_token') {
      const clientId = creds.clientId;
      return then(this.d.access.exchange(app, clientId, creds.secret), (decision): Verdict => {
        if (decision.ok || !decision.guess) return { decision, via: mode };
        const idWait = this.attempts.failedSecret(ip, clientId, now);
        return idWait ? { decision: { ...decision, detail: 'rate_limited_client_id' }, via: mode, retryAfter: idWait } : { decision, via: mode };
      });
    }
    if (creds.kind === 'invalid') {
      this.attempts.failed(ip, now);
      return { decision: unauthorized(app, 'invalid_credentials', creds.reason, creds.clientId, true), via: mode };
    }
    // Checked by checkJwt: well formed (else `malformed_jwt`) unless it is a JWT verified before.
    const jwt = presentedJwt(req.headers);
    if (jwt === null) return { decision: unauthorized(app, 'no_credentials', 'no_credentials', null, false), via: mode };
    const via = mode === 'service_token' ? 'jwt' : mode;
    return then(this.d.access.checkJwt(app, jwt), (checked): Verdict => {
      const decision = checked as Decision; // for an app, a decision
      if (!decision.ok && decision.guess) this.attempts.failed(ip, now);
      return { decision, via };
    });
  }

  /**
   * `CF_Authorization`, with the app's cookie attributes; SameSite=None is always Secure (browsers
   * drop it otherwise). Sent on every exchange; the same text for the same JWT, app (a replica app
   * is replaced, never changed, when it changes) and second (Max-Age counts down by the second) is
   * the one built before: the ~1 KB line was built, and checked by the front that writes it, anew
   * on every request that presented a secret.
   */
  private cookie(app: ReplicaApp, jwt: string, claims: AppClaims): string {
    const second = Math.floor(this.now() / 1000);
    const last = this.cookies.get(claims);
    if (last !== undefined && last.second === second && last.app === app && last.jwt === jwt) return last.text;
    const maxAge = Math.max(0, claims.exp - second);
    const sameSite = app.sameSiteCookieAttribute ?? 'lax';
    const path = app.pathCookieAttribute && app.pathPrefix ? app.pathPrefix : '/';
    const secure = this.d.cookieSecure || sameSite === 'none';
    const text = `CF_Authorization=${jwt}; Max-Age=${maxAge}; Path=${path}${app.httpOnlyCookieAttribute ? '; HttpOnly' : ''}; SameSite=${SAME_SITE[sameSite]}${secure ? '; Secure' : ''}`;
    this.cookies.set(claims, { app, jwt, second, text });
    return text;
  }
}

const SAME_SITE = { strict: 'Strict', lax: 'Lax', none: 'None' } as const;
