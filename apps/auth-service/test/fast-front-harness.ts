import { generateKeyPairSync } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { generateClientSecret, hashClientSecret } from '@gatehouse/contracts';
import { Registry } from '@gatehouse/observability';
import { expectEventually } from '@gatehouse/testing';
import { AccessControl } from '../src/gateway/access.js';
import { JwtService } from '../src/gateway/jwt.js';
import { GatewayMetrics } from '../src/gateway/metrics.js';
import { RateLimiter } from '../src/gateway/rate-limiter.js';
import { Recorder } from '../src/gateway/recorder.js';
import { Gateway, type GatewayDeps } from '../src/gateway/server.js';
import type { KeyRing } from '../src/keys/key-ring.js';
import { appOf, loadInto, policyOf, tokenOf } from '../src/replica/replica.fixture.js';
import { Replica } from '../src/replica/replica.js';
import type http from 'node:http';
import type { FastFront } from '../src/gateway/fast-front.js';
import { closeServer, closedPort, listen, onCleanup, rawConnection, startHttpUpstreamServer } from './proxy-harness.js';

/*
 * What the fast-front*.int-spec.ts files share: the same gateway twice, with the fast front and
 * without (`fastFront: false`, every connection on Node's server), an echo upstream, and raw
 * clients that count the responses they got. Every spec file calls `afterEach(runCleanups)`.
 */

export const HASH_KEY = 'e'.repeat(64);
export const HOST = 'app.example.com';
export const DOWN_HOST = 'down.example.com';

/** A request as the echo upstream parsed it (Node's llhttp). */
export interface EchoRequest {
  method: string;
  url: string;
  /** Names as sent, values as parsed: Node's `rawHeaders`. */
  rawHeaders: string[];
  /** The body, latin1. */
  body: string;
}

export interface EchoUpstream {
  url: string;
  /** Each request as text: its line, its headers, its body. */
  seen: string[];
  /** The same requests, parsed. */
  requests: EchoRequest[];
  /** Every parse error of a request sent to it (a connection closed mid-request is no error). */
  errors: string[];
  /** Connections open to it now. */
  connections(): Promise<number>;
}

/** An upstream that answers each request with what it received, in ways chosen by the path. */
export async function startEchoUpstream(): Promise<EchoUpstream> {
  const seen: string[] = [];
  const requests: EchoRequest[] = [];
  const errors: string[] = [];
  const { port, server } = await startHttpUpstreamServer(
    (req, res) => {
      let text = `${req.method} ${req.url}\n`;
      for (let i = 0; i < req.rawHeaders.length; i += 2) text += `${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}\n`;
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString('latin1')));
      req.on('end', () => {
        seen.push(text + body);
        requests.push({ method: req.method!, url: req.url!, rawHeaders: req.rawHeaders, body });
        if (req.url === '/slow') return; // never answered
        if (req.url === '/204') return void res.writeHead(204, { 'x-kind': 'none' }).end();
        if (req.url === '/chunked') {
          res.writeHead(200, { 'content-type': 'text/plain' });
          res.write(text);
          return void setTimeout(() => res.end(body), 5);
        }
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(text + body), 'set-cookie': 'up=1', 'cf-ray': 'upstream' });
        res.end(text + body);
      });
      // The gateway's own limit (64 KiB) applies, not Node's default 16 KiB.
    },
    { maxHeaderSize: 80 * 1024 },
  );
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    if (error.code !== 'ECONNRESET' && error.code !== 'HPE_INVALID_EOF_STATE') errors.push(error.code ?? error.message);
    socket.destroy();
  });
  const connections = () => new Promise<number>((resolve, reject) => server.getConnections((error, n) => (error ? reject(error) : resolve(n))));
  return { url: `http://127.0.0.1:${port}`, seen, requests, errors, connections };
}

export interface Twin {
  port: number;
  gateway: Gateway;
  /** Its own replica: a test applies changes to it. */
  replica: Replica;
  decisions: Array<Record<string, unknown>>;
  registry: Registry;
}

export const ADMIN_PREFIX = '/admin';

export interface TwinOptions {
  /**
   * A stricter application on the same host, `HOST/admin`, proxied to this upstream, that admits
   * only another token: the twins' token is refused there (403).
   */
  adminUpstreamUrl?: string;
  /** Wraps each gateway's AccessControl (a test holds or watches authentication). */
  access?: (access: AccessControl, fastFront: boolean) => AccessControl;
  /** Node's server's requestTimeout (GatewayDeps.requestTimeoutMs). */
  requestTimeoutMs?: number;
}

/** A gateway's dependencies besides its replica and access control: no rate limits to speak of, nothing published. */
export function plainGatewayDeps(): Pick<GatewayDeps, 'limiter' | 'ipLimiter' | 'recorder' | 'certs' | 'health' | 'trustProxy' | 'cookieSecure'> {
  return {
    limiter: new RateLimiter(1_000_000, 1_000_000),
    ipLimiter: new RateLimiter(1_000_000, 1_000_000),
    recorder: new Recorder({ publishSeen: () => undefined, publishDecisions: async () => undefined }),
    certs: () => '{}',
    health: () => ({ status: 'ok' }),
    trustProxy: false,
    cookieSecure: false,
  };
}

export async function startTwins(upstreamUrl: string, options: TwinOptions = {}): Promise<{ fast: Twin; slow: Twin; id: string; secret: string }> {
  const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keys = {
    signingKey: () => ({ kid: 'kid1', activatesAt: 0, privateKey: pair.privateKey, publicKey: pair.publicKey, certificatePem: '' }),
    publicKey: (kid: string) => (kid === 'kid1' ? pair.publicKey : undefined),
  } as unknown as KeyRing;
  const secret = generateClientSecret();
  const token = tokenOf({ secretHash: hashClientSecret(HASH_KEY, secret) });
  const app = appOf({ domain: HOST, upstream: upstreamUrl });
  const down = appOf({ name: 'down', domain: DOWN_HOST, upstream: `http://127.0.0.1:${await closedPort()}` });
  const other = tokenOf({ name: 'other' });
  const admin = options.adminUpstreamUrl ? appOf({ name: 'admin', domain: `${HOST}${ADMIN_PREFIX}`, upstream: options.adminUpstreamUrl }) : null;
  const start = async (fastFront: boolean): Promise<Twin> => {
    const replica = new Replica();
    loadInto(replica, {
      revision: 1,
      tokens: [token, other],
      apps: admin ? [app, down, admin] : [app, down],
      policies: [
        policyOf(app.id, { include: [{ serviceToken: { tokenId: token.id } }] }),
        policyOf(down.id),
        ...(admin ? [policyOf(admin.id, { include: [{ serviceToken: { tokenId: other.id } }] })] : []),
      ],
    });
    const access = new AccessControl(replica, new JwtService(keys, 'https://team.example.com'), HASH_KEY, (kid) => kid === 'kid1');
    const decisions: Array<Record<string, unknown>> = [];
    const registry = new Registry();
    const gateway = new Gateway({
      replica,
      access: options.access ? options.access(access, fastFront) : access,
      ...plainGatewayDeps(),
      logDecision: (fields) => decisions.push(fields),
      metrics: new GatewayMetrics(registry),
      upstreams: { responseTimeoutMs: 2_000 },
      fastFront,
      requestTimeoutMs: options.requestTimeoutMs,
    });
    const port = await gateway.listen(0, '127.0.0.1');
    onCleanup(() => gateway.close());
    return { port, gateway, replica, decisions, registry };
  };
  return { fast: await start(true), slow: await start(false), id: token.clientId, secret };
}

/** What differs between two gateways by nature: decision ids, dates, JWTs (and the cookie's Max-Age). */
export function normalize(text: string): string {
  return text
    .replace(/[0-9a-f]{16}/g, 'RAY')
    .replace(/^(date: ).*$/gim, '$1DATE')
    .replace(/eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+/g, 'JWT')
    .replace(/Max-Age=\d+/g, 'Max-Age=N');
}

/** Sends `bytes` on a new connection, waits until `answers` complete responses (or the close) came back. */
export async function exchange(port: number, bytes: string, answers: number, { end = false } = {}): Promise<string> {
  const conn = rawConnection(port, bytes, { end });
  const heads = methodsOf(bytes).map((m) => m === 'HEAD');
  await Promise.race([conn.closed, expectEventually(() => expect(countResponses(conn.received(), heads)).toBeGreaterThanOrEqual(answers))]);
  await new Promise((r) => setTimeout(r, 30)); // nothing more comes
  conn.socket.destroy();
  return conn.received();
}

/** The methods of the requests in `bytes`, in order. */
export const methodsOf = (bytes: string): string[] => [...bytes.matchAll(/(?:^|\n)([A-Z]+) \S+ HTTP\/1\.1\r?\n/g)].map((m) => m[1]!);

/** Complete HTTP/1.1 responses in `text` (Content-Length or chunked bodies, or none; none for the answers to HEAD requests). */
export function countResponses(text: string, heads: boolean[] = []): number {
  return statusesOf(text, heads).length;
}

/** The status codes of the complete HTTP/1.1 responses in `text`, in order (interim 1xx included). */
export function statusesOf(text: string, heads: boolean[] = []): number[] {
  const statuses: number[] = [];
  let n = 0;
  let at = 0;
  for (;;) {
    const head = text.indexOf('\r\n\r\n', at);
    if (head < 0 || !text.startsWith('HTTP/1.1 ', at)) return statuses;
    const headText = text.slice(at, head);
    at = head + 4;
    const length = /\r\ncontent-length: (\d+)/i.exec(headText);
    const interim = /^HTTP\/1\.1 1\d\d/.test(headText);
    if (heads[n] || interim || /^HTTP\/1\.1 (204|304)/.test(headText)) {
      // no body
    } else if (length) at += Number(length[1]);
    else if (/\r\ntransfer-encoding: chunked/i.test(headText)) {
      const last = text.indexOf('\r\n0\r\n\r\n', at - 2);
      if (last < 0) return statuses;
      at = last + 7;
    }
    if (at > text.length) return statuses;
    statuses.push(Number(headText.slice(9, 12)));
    if (!interim) n++;
  }
}

export const get = (path: string, extra = '', host = HOST, method = 'GET') => `${method} ${path} HTTP/1.1\r\nHost: ${host}\r\n${extra}\r\n`;

/** A FastFront listening on a free port with its fallback (as Gateway.listen does), closed after the test. */
export async function listenFront(front: FastFront, fallback: http.Server): Promise<number> {
  const port = await listen(front.server);
  fallback.emit('listening');
  onCleanup(async () => {
    front.closeAll();
    fallback.closeAllConnections();
    await closeServer(front.server);
  });
  return port;
}
