import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

/** One readiness check: resolves when ready, throws (in words) when not. */
export type ReadinessCheck = () => Promise<void> | void;

export interface ManagementOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  registry: Registry;
  /** Named checks for /readyz, e.g. `{ database, nats }`; each gets `checkTimeoutMs`. */
  readiness?: Record<string, ReadinessCheck>;
  checkTimeoutMs?: number;
}

export interface ManagementServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

const send = (res: ServerResponse, status: number, type: string, body: string) => {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) });
  res.end(body);
};

function withTimeout(check: ReadinessCheck, ms: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    Promise.resolve()
      .then(check)
      .then(
        () => (clearTimeout(timer), resolve()),
        (e: unknown) => (clearTimeout(timer), reject(e instanceof Error ? e : new Error(String(e)))),
      );
  });
}

/** Runs every check at once; `ready` only when all pass. Messages say what failed, never a stack. */
export async function readiness(checks: Record<string, ReadinessCheck>, timeoutMs: number) {
  const names = Object.keys(checks);
  const results = await Promise.allSettled(names.map((n) => withTimeout(checks[n]!, timeoutMs)));
  const detail: Record<string, string> = {};
  results.forEach((r, i) => (detail[names[i]!] = r.status === 'fulfilled' ? 'up' : `down: ${(r.reason as Error)?.message ?? String(r.reason)}`));
  return { ready: results.every((r) => r.status === 'fulfilled'), checks: detail };
}

/**
 * The management port of a service, framework-free (node:http): `/metrics` (Prometheus text),
 * `/healthz` (the process answers), `/readyz` (every readiness check passes, else 503).
 * Bound to the management host only (127.0.0.1 by default): not for the internet.
 */
export async function startManagementServer(options: ManagementOptions): Promise<ManagementServer> {
  const checks = options.readiness ?? {};
  const timeoutMs = options.checkTimeoutMs ?? 2000;
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n');
    switch (path) {
      case '/metrics':
        return send(res, 200, options.registry.contentType, await options.registry.metrics());
      case '/healthz':
        return send(res, 200, 'application/json', JSON.stringify({ status: 'alive' }));
      case '/readyz': {
        const { ready, checks: detail } = await readiness(checks, timeoutMs);
        return send(res, ready ? 200 : 503, 'application/json', JSON.stringify({ status: ready ? 'ready' : 'not ready', checks: detail }));
      }
      default:
        return send(res, 404, 'text/plain; charset=utf-8', 'not found: try /metrics, /healthz or /readyz\n');
    }
  };
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', `management error: ${(e as Error)?.message ?? String(e)}\n`);
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    url: `http://${host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
