import { generateKeyPairSync } from 'node:crypto';
import { generateClientSecret, hashClientSecret } from '@gatehouse/contracts';
import { Registry } from '@gatehouse/observability';
import { expectEventually } from '@gatehouse/testing';
import { AccessControl } from '../src/gateway/access.js';
import { JwtService } from '../src/gateway/jwt.js';
import { GatewayMetrics } from '../src/gateway/metrics.js';
import { RateLimiter } from '../src/gateway/rate-limiter.js';
import { Recorder } from '../src/gateway/recorder.js';
import { Gateway } from '../src/gateway/server.js';
import type { KeyRing } from '../src/keys/key-ring.js';
import { appOf, loadInto, policyOf, tokenOf } from '../src/replica/replica.fixture.js';
import { Replica } from '../src/replica/replica.js';
import { closedPort, onCleanup, rawConnection, startHttpUpstream } from './proxy-harness.js';

/*
 * What the fast-front*.int-spec.ts files share: the same gateway twice, with the fast front and
 * without (`fastFront: false`, every connection on Node's server), an echo upstream, and raw
 * clients that count the responses they got. Every spec file calls `afterEach(runCleanups)`.
 */

export const HASH_KEY = 'e'.repeat(64);
export const HOST = 'app.example.com';
export const DOWN_HOST = 'down.example.com';

/** An upstream that answers each request with what it received, in ways chosen by the path. */
export async function startEchoUpstream(): Promise<{ url: string; seen: string[] }> {
  const seen: string[] = [];
  const port = await startHttpUpstream((req, res) => {
    let text = `${req.method} ${req.url}\n`;
    for (let i = 0; i < req.rawHeaders.length; i += 2) text += `${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}\n`;
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString('latin1')));
    req.on('end', () => {
      seen.push(text + body);
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
  });
  return { url: `http://127.0.0.1:${port}`, seen };
}

export interface Twin {
  port: number;
  gateway: Gateway;
  decisions: Array<Record<string, unknown>>;
  registry: Registry;
}

export async function startTwins(upstreamUrl: string): Promise<{ fast: Twin; slow: Twin; id: string; secret: string }> {
  const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keys = {
    signingKey: () => ({ kid: 'kid1', activatesAt: 0, privateKey: pair.privateKey, publicKey: pair.publicKey, certificatePem: '' }),
    publicKey: (kid: string) => (kid === 'kid1' ? pair.publicKey : undefined),
  } as unknown as KeyRing;
  const secret = generateClientSecret();
  const token = tokenOf({ secretHash: hashClientSecret(HASH_KEY, secret) });
  const app = appOf({ domain: HOST, upstream: upstreamUrl });
  const down = appOf({ name: 'down', domain: DOWN_HOST, upstream: `http://127.0.0.1:${await closedPort()}` });
  const start = async (fastFront: boolean): Promise<Twin> => {
    const replica = new Replica();
    loadInto(replica, {
      revision: 1,
      tokens: [token],
      apps: [app, down],
      policies: [policyOf(app.id, { include: [{ serviceToken: { tokenId: token.id } }] }), policyOf(down.id)],
    });
    const decisions: Array<Record<string, unknown>> = [];
    const registry = new Registry();
    const gateway = new Gateway({
      replica,
      access: new AccessControl(replica, new JwtService(keys, 'https://team.example.com'), HASH_KEY, (kid) => kid === 'kid1'),
      limiter: new RateLimiter(1_000_000, 1_000_000),
      ipLimiter: new RateLimiter(1_000_000, 1_000_000),
      recorder: new Recorder({ publishSeen: () => undefined, publishDecisions: async () => undefined }),
      certs: () => '{}',
      health: () => ({ status: 'ok' }),
      trustProxy: false,
      cookieSecure: false,
      logDecision: (fields) => decisions.push(fields),
      metrics: new GatewayMetrics(registry),
      upstreams: { responseTimeoutMs: 2_000 },
      fastFront,
    });
    const port = await gateway.listen(0, '127.0.0.1');
    onCleanup(() => gateway.close());
    return { port, gateway, decisions, registry };
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
  let n = 0;
  let at = 0;
  for (;;) {
    const head = text.indexOf('\r\n\r\n', at);
    if (head < 0 || !text.startsWith('HTTP/1.1 ', at)) return n;
    const headText = text.slice(at, head);
    at = head + 4;
    const length = /\r\ncontent-length: (\d+)/i.exec(headText);
    if (heads[n] || /^HTTP\/1\.1 (1\d\d|204|304)/.test(headText)) {
      // no body
    } else if (length) at += Number(length[1]);
    else if (/\r\ntransfer-encoding: chunked/i.test(headText)) {
      const last = text.indexOf('\r\n0\r\n\r\n', at - 2);
      if (last < 0) return n;
      at = last + 7;
    }
    if (at > text.length) return n;
    n++;
  }
}

export const get = (path: string, extra = '', host = HOST, method = 'GET') => `${method} ${path} HTTP/1.1\r\nHost: ${host}\r\n${extra}\r\n`;
