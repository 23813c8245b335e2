import { SECRET_PREFIX } from '@gatehouse/contracts';
import http, { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { ReplicaApp, Replica } from '../replica/replica.js';
import type { AccessControl, Allowed, Decision, Via } from './access.js';
import type { GatewayMetrics } from './metrics.js';
import { jwtOf, serviceCredentials } from './credentials.js';
import { originalRequest, type ForwardAuthMode } from './forward-auth.js';
import { canonicalTarget } from './path.js';
import { UpstreamPool, answerInProgress, isWebSocketUpgrade, plainResponse, type ProxyTarget, type UpstreamPoolOptions } from './proxy.js';
import { addressKey, type RateLimiter } from './rate-limiter.js';
import type { Recorder } from './recorder.js';
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
  /** The health detail; the public answer is `{ status }` unless `healthDetails`. */
  health(): { status: string } & Record<string, unknown>;
  /** GATEHOUSE_HEALTH_DETAILS: answer the whole health detail (key ids, revision, errors) to anyone. */
  healthDetails?: boolean;
  /** GATEHOUSE_FORWARD_AUTH_HEADERS (default `auto`). */
  forwardAuthHeaders?: ForwardAuthMode;
  trustProxy: boolean;
  cookieSecure: boolean;
  now?: () => number;
  onError?(error: Error): void;
  upstreams?: UpstreamPoolOptions;
  metrics?: GatewayMetrics;
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

/** Answers through `reply`; null, for `return refused(…)` in functions that admit or refuse. */
function refused(reply: Reply, status: number, body: unknown): null {
  reply(status, body);
  return null;
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string | string[]> = {}): void {
  if (res.headersSent) return void res.destroy();
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

/** A client id as presented, for the log; a pasted secret (wrong header) is never recorded. */
function loggableClientId(id: string | null): string | null {
  if (!id) return null;
  return id.startsWith(SECRET_PREFIX) ? '[redacted: looks like a secret]' : id.slice(0, 255);
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/**
 * The data plane: Node's raw HTTP server (no framework on the hot path).
 * - `/cdn-cgi/access/certs`, `/get-identity`, `/health`, `/authorize[/…]` on every host;
 * - anything else: the application of the Host (and path prefix), authenticated, proxied.
 */
export class Gateway {
  readonly server: http.Server;
  readonly upstreams: UpstreamPool;
  private readonly now: () => number;
  /** Open upgrade tunnels (client sockets), with what admitted them: re-checked on every change. */
  private readonly tunnels = new Map<Socket, { appId: string; jwt: string; timer: NodeJS.Timeout }>();

  constructor(private readonly d: GatewayDeps) {
    this.now = d.now ?? Date.now;
    this.upstreams = new UpstreamPool({ trustProxy: d.trustProxy, ...d.upstreams });
    d.replica.onChange(() => this.recheckTunnels());
    this.server = http.createServer({ maxHeaderSize: 64 * 1024, keepAliveTimeout: 65_000, requestTimeout: 60_000 }, (req, res) => {
      this.handle(req, res).catch((error: Error) => {
        d.onError?.(error);
        send(res, 503, { error: 'unavailable', reason: 'internal' });
      });
    });
    // Upgrades (WebSocket): authenticated like any request, then tunnelled to the upstream.
    this.server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
      if (answerInProgress(socket)) return void socket.destroy();
      // Only WebSocket is tunnelled; any other protocol (h2c…) is a plain request, Upgrade dropped.
      if (!isWebSocketUpgrade(req)) return void this.server.emit('request', req, plainResponse(req, socket));
      // Hold what the client sends early (a WebSocket frame) until the tunnel is joined.
      socket.pause();
      socket.on('error', () => socket.destroy());
      this.upgrade(req, socket, head).catch((error: Error) => {
        d.onError?.(error);
        sendRaw(socket, 503, { error: 'unavailable', reason: 'internal' });
      });
    });
    // CONNECT (a tunnel to a host of the client's choosing) is no request for an application.
    this.server.on('connect', (_req: IncomingMessage, socket: Socket) => {
      socket.on('error', () => socket.destroy());
      sendRaw(socket, 405, { error: 'method_not_allowed', reason: 'connect_not_supported' });
    });
    // A malformed request (bad header bytes, header too large) gets a plain 4xx, never a 500.
    this.server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
      const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
      sendRaw(socket, status, { error: 'bad_request', reason: status === 431 ? 'headers_too_large' : 'malformed_request' });
    });
  }

  get openTunnels(): number {
    return this.tunnels.size;
  }

  listen(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        const a = this.server.address();
        resolve(typeof a === 'object' && a ? a.port : port);
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
      this.upstreams.close();
    });
  }

  private clientIp(req: IncomingMessage): string {
    const peer = (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
    if (!this.d.trustProxy) return peer;
    const xff = headerValue(req.headers['x-forwarded-for']);
    const last = xff?.split(',').pop()?.trim();
    return last && last.length <= 64 ? last : peer;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    const metrics = this.d.metrics;
    const start = metrics ? performance.now() : 0;
    if (metrics) res.once('close', () => metrics.requestDone(start));
    if (url.startsWith(ACCESS_PREFIX)) return this.access(req, res, pathOf(url).slice(ACCESS_PREFIX.length));
    const admitted = await this.admit(req, (status, body, headers) => send(res, status, body, headers));
    if (!admitted) return;
    metrics?.forwarded(start);
    this.upstreams.forward(req, res, {
      ...admitted.target,
      onError: (r, status, body) => {
        if (metrics && status >= 502) metrics.upstreamError((body as { reason?: string }).reason ?? 'unknown');
        send(r, status, body);
      },
    });
  }

  /**
   * A request for an application (proxied or upgraded): its app by Host and path, authenticated,
   * and what the upstream is sent; or null, answered through `reply`.
   */
  private async admit(req: IncomingMessage, reply: Reply): Promise<{ app: ReplicaApp; decision: Allowed; target: Omit<ProxyTarget, 'onError'> } | null> {
    // One canonical path: the application is chosen by it and the upstream is sent it.
    const canonical = canonicalTarget(req.url ?? '/');
    if (!canonical.ok) return refused(reply, 400, { error: 'bad_request', reason: canonical.reason });
    // Symfony, Laminas and IIS URL Rewrite route by these instead of the request target: a path
    // of the client's choosing that the gateway would not have judged.
    if (PATH_OVERRIDES.some((h) => req.headers[h] !== undefined)) return refused(reply, 400, { error: 'bad_request', reason: 'path_override_header' });
    if (!this.d.replica.loaded) return refused(reply, 503, { error: 'unavailable', reason: 'replica_loading' });
    const app = this.d.replica.findApp(headerValue(req.headers.host) ?? '', canonical.path);
    if (!app) return refused(reply, 404, { error: 'not_found', reason: 'no_application_for_host' });
    const ip = this.clientIp(req);
    const decision = await this.authenticate(req, reply, app, ip, 'service_token');
    if (!decision) return null;
    if (!app.upstreamUrl) return refused(reply, 502, { error: 'bad_gateway', reason: 'application_has_no_upstream' });
    const target = {
      upstream: app.upstreamUrl,
      path: canonical.path + canonical.query,
      jwt: decision.jwt,
      singleHeader: app.readServiceTokensFromHeader,
      setCookie: decision.exchanged && !strictFor(this.d.replica, app) ? this.cookie(app, decision.jwt, decision.claims.exp) : null,
      clientIp: ip,
    };
    return { app, decision, target };
  }

  private async access(req: IncomingMessage, res: ServerResponse, route: string): Promise<void> {
    if (route === 'certs') {
      return send(res, 200, this.d.certs(), { 'cache-control': 'public, max-age=60' });
    }
    if (route === 'health') {
      const health = this.d.health();
      return send(res, 200, this.d.healthDetails ? health : { status: health.status });
    }
    if (!this.d.replica.loaded) return send(res, 503, { error: 'unavailable', reason: 'replica_loading' });
    if (route === 'get-identity') return this.identity(req, res);
    if (route === 'authorize' || route.startsWith('authorize/')) return this.forwardAuth(req, res, route.slice('authorize'.length));
    return send(res, 404, { error: 'not_found', reason: 'unknown_endpoint' });
  }

  /** GET /cdn-cgi/access/get-identity: who the presented JWT belongs to. */
  private async identity(req: IncomingMessage, res: ServerResponse): Promise<void> {
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
    if (decision.app) this.record(decision, this.clientIp(req), 'jwt');
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
  private async forwardAuth(req: IncomingMessage, res: ServerResponse, rest: string): Promise<void> {
    const original = originalRequest(this.d.forwardAuthHeaders ?? 'auto', req.headers, req.rawHeaders, rest);
    if ('reason' in original) return send(res, 400, { error: 'bad_request', reason: original.reason });
    const canonical = canonicalTarget(original.target);
    if (!canonical.ok) return send(res, 400, { error: 'bad_request', reason: canonical.reason });
    const app = this.d.replica.findApp(original.host, canonical.path);
    if (!app) return send(res, 404, { error: 'not_found', reason: 'no_application_for_host' });
    const decision = await this.authenticate(req, (status, body, headers) => send(res, status, body, headers), app, this.clientIp(req), 'forward_auth');
    if (!decision) return;
    const headers: Record<string, string | string[]> = {
      'cf-access-jwt-assertion': decision.jwt,
      'x-gatehouse-token-id': decision.token.id,
      'x-gatehouse-token-name': encodeURIComponent(decision.token.name),
      'x-gatehouse-client-id': decision.token.clientId,
      'x-gatehouse-app-id': decision.app.id,
    };
    if (decision.exchanged && !strictFor(this.d.replica, app)) headers['set-cookie'] = this.cookie(decision.app, decision.jwt, decision.claims.exp);
    res.writeHead(200, { 'cache-control': 'no-store', 'content-length': 0, ...headers });
    res.end();
  }

  /**
   * An upgrade request (WebSocket) on an application's host: the same authentication as any
   * request, then a byte tunnel to the upstream once it answers 101. Access endpoints never upgrade.
   */
  private async upgrade(req: IncomingMessage, socket: Socket, head: Buffer): Promise<void> {
    const reply: Reply = (status, body, headers) => sendRaw(socket, status, body, headers);
    if ((req.url ?? '/').startsWith(ACCESS_PREFIX)) return reply(400, { error: 'bad_request', reason: 'upgrade_not_supported' });
    const admitted = await this.admit(req, reply);
    if (!admitted) return;
    const { app, decision, target } = admitted;
    // A tunnel lives no longer than the JWT that admitted it, and is cut as soon as that JWT would
    // be refused (token deleted or disabled, sessions revoked, policy changed).
    const lifetime = Math.min(decision.claims.exp * 1000 - this.now(), 2 ** 31 - 1);
    const timer = setTimeout(() => socket.destroy(), Math.max(0, lifetime));
    timer.unref();
    this.tunnels.set(socket, { appId: app.id, jwt: decision.jwt, timer });
    socket.on('close', () => {
      clearTimeout(timer);
      this.tunnels.delete(socket);
    });
    this.upstreams.tunnel(req, socket, head, { ...target, refuse: reply });
  }

  private recheckTunnels(): void {
    for (const [socket, t] of this.tunnels) {
      const app = this.d.replica.app(t.appId);
      if (!app) {
        socket.destroy();
        continue;
      }
      this.d.access.checkJwt(app, t.jwt).then(
        (decision) => void (decision.ok || socket.destroy()),
        () => socket.destroy(),
      );
    }
  }

  /** Authenticates for `app`; on refusal answers through `reply` and returns null. */
  private async authenticate(req: IncomingMessage, reply: Reply, app: ReplicaApp, ip: string, mode: Via) {
    const now = this.now();
    const ipKey = `ip:${addressKey(ip)}`;
    const ipWait = this.d.ipLimiter.retryAfter(ipKey, now);
    if (ipWait) {
      this.d.metrics?.decision(app.name, false, 'rate_limited_ip');
      this.d.recorder.decision({ accountId: app.accountId, appId: app.id, appName: app.name, tokenId: null, tokenName: null, clientId: null, decision: 'deny', reason: 'rate_limited_ip', sourceIp: ip, via: mode }, now);
      reply(429, { error: 'too_many_requests', reason: 'too_many_failed_attempts' }, { 'retry-after': String(ipWait) });
      return null;
    }
    const strict = strictFor(this.d.replica, app) ? strictRefusal(req, app.readServiceTokensFromHeader) : null;
    if (strict) {
      this.d.ipLimiter.fail(ipKey, now);
      this.record({ ok: false, status: 401, reason: 'invalid_credentials', detail: strict, app, token: null, clientId: null, guess: true }, ip, mode);
      reply(401, { error: 'unauthorized', reason: strict });
      return null;
    }
    const creds = serviceCredentials(req.headers, app.readServiceTokensFromHeader);
    let decision: Decision;
    let via: Via = mode;
    if (creds.kind === 'service_token') {
      decision = await this.d.access.exchange(app, creds.clientId, creds.secret);
      if (!decision.ok && decision.guess) {
        const idKey = `id:${creds.clientId}`;
        const idWait = this.d.limiter.retryAfter(idKey, now);
        this.d.limiter.fail(idKey, now);
        this.d.ipLimiter.fail(ipKey, now);
        if (idWait) {
          this.record({ ...decision, detail: 'rate_limited_client_id' }, ip, via);
          reply(429, { error: 'too_many_requests', reason: 'too_many_failed_attempts' }, { 'retry-after': String(idWait) });
          return null;
        }
      }
    } else if (creds.kind === 'invalid') {
      this.d.ipLimiter.fail(ipKey, now);
      const refused: Decision = { ok: false, status: 401, reason: 'invalid_credentials', detail: creds.reason, app, token: null, clientId: creds.clientId, guess: true };
      decision = refused;
    } else {
      const found = jwtOf(req.headers);
      if (!found) {
        this.record({ ok: false, status: 401, reason: 'no_credentials', detail: 'no_credentials', app, token: null, clientId: null, guess: false }, ip, via);
        reply(401, { error: 'unauthorized', reason: 'no_credentials' });
        return null;
      }
      if (mode === 'service_token') via = 'jwt';
      if ('invalid' in found) {
        decision = { ok: false, status: 401, reason: 'invalid_jwt', detail: 'malformed_jwt', app, token: null, clientId: null, guess: true };
      } else {
        decision = (await this.d.access.checkJwt(app, found.jwt)) as Decision;
      }
      if (!decision.ok && decision.guess) this.d.ipLimiter.fail(ipKey, now);
    }
    this.record(decision, ip, via);
    if (!decision.ok) {
      reply(decision.status, { error: decision.status === 401 ? 'unauthorized' : 'forbidden', reason: decision.reason });
      return null;
    }
    this.d.recorder.tokenSeen(decision.token.id, now);
    return decision;
  }

  private record(d: Decision, ip: string, via: Via): void {
    const token = d.token;
    this.d.metrics?.decision(d.app.name, d.ok, d.ok ? '' : d.detail);
    this.d.recorder.decision(
      {
        accountId: d.app.accountId,
        appId: d.app.id,
        appName: d.app.name,
        tokenId: token?.id ?? null,
        tokenName: token?.name ?? null,
        clientId: loggableClientId(d.ok ? d.token.clientId : d.clientId),
        decision: d.ok ? 'allow' : 'deny',
        reason: d.ok ? `admitted_by_policy:${d.policy.name}`.slice(0, 255) : d.detail,
        sourceIp: ip.slice(0, 64) || null,
        via,
      },
      this.now(),
    );
  }

  /** `CF_Authorization`, with the app's cookie attributes; SameSite=None is always Secure (browsers drop it otherwise). */
  private cookie(app: ReplicaApp, jwt: string, exp: number): string {
    const maxAge = Math.max(0, exp - Math.floor(this.now() / 1000));
    const sameSite = app.sameSiteCookieAttribute ?? 'lax';
    const path = app.pathCookieAttribute && app.pathPrefix ? app.pathPrefix : '/';
    const secure = this.d.cookieSecure || sameSite === 'none';
    return `CF_Authorization=${jwt}; Max-Age=${maxAge}; Path=${path}${app.httpOnlyCookieAttribute ? '; HttpOnly' : ''}; SameSite=${SAME_SITE[sameSite]}${secure ? '; Secure' : ''}`;
  }
}

const SAME_SITE = { strict: 'Strict', lax: 'Lax', none: 'None' } as const;
