import cluster, { type Worker } from 'node:cluster';
import { createServer, type AddressInfo } from 'node:net';
import { availableParallelism } from 'node:os';
import { startManagementServer, type ManagementServer, type Registry } from '@gatehouse/observability';
import { AggregatorRegistry } from 'prom-client';
import type { RateLimiter } from './gateway/rate-limiter.js';

/**
 * `GATEHOUSE_GATEWAY_WORKERS`: that many gateway processes serve one port (node:cluster). With
 * `GATEHOUSE_GATEWAY_BALANCE=kernel` (the default) each worker listens on the port itself
 * (SO_REUSEPORT) and the kernel spreads new connections over them; with `primary`, the primary
 * holds the listening socket and hands connections to the workers in turn. Each worker is
 * a whole gateway — its own replica, NATS connection, signing-key ring, access-log recorder —
 * so a worker never waits for another. Shared through the primary: the management port (metrics
 * summed over the workers, readiness = every worker ready) and rate-limit failures (each worker
 * tells the others, so a limit holds across workers). See docs/gateway.md, "Workers".
 */
export function workerCount(setting: 'auto' | number): number {
  return setting === 'auto' ? availableParallelism() : setting;
}

/** What a worker tells the primary, and what the primary relays. */
export type WorkerMessage = { gatehouse: 'ready'; ready: boolean } | { gatehouse: 'failure'; limiter: 'ip' | 'id'; key: string; at: number };

function isWorkerMessage(m: unknown): m is WorkerMessage {
  return typeof m === 'object' && m !== null && 'gatehouse' in m;
}

export interface PrimaryOptions {
  count: number;
  /** GATEHOUSE_GATEWAY_BALANCE, and the gateway's port and host (for `kernel` with port 0). */
  balance: 'kernel' | 'primary';
  port: number;
  host: string;
  managementHost: string;
  managementPort: number;
  log: { log(m: string): void; warn(m: string): void; error(m: string): void };
}

export interface Primary {
  management: ManagementServer;
  workers(): Worker[];
  stop(): Promise<void>;
}

/**
 * The primary: forks the workers, restarts one that dies (after a backoff that grows while they
 * keep dying), relays rate-limit failures between them, serves the management port, and stops
 * them all on SIGTERM/SIGINT (each drains as a single gateway does).
 */
export async function runPrimary(options: PrimaryOptions): Promise<Primary> {
  const ready = new Map<number, boolean>();
  let stopping = false;
  let restartDelay = 250;
  // Kernel balance: the primary first binds the port itself, without SO_REUSEPORT, and lets it go.
  // If another process holds it (another gateway left running, a process of the same user in the
  // port's SO_REUSEPORT group), the gateway refuses to start instead of sharing the connections.
  // Port 0: workers that each listen would each get a port of their own, so the port bound here
  // is the one they all use (and the ones that replace them).
  const env = options.balance === 'kernel' ? { GATEHOUSE_GATEWAY_PORT: String(await bindOnce(options.host, options.port)) } : {};
  const fork = () => {
    const worker = cluster.fork(env);
    ready.set(worker.id, false);
    worker.on('message', (m: unknown) => {
      if (!isWorkerMessage(m)) return;
      if (m.gatehouse === 'ready') {
        ready.set(worker.id, m.ready);
        if (m.ready) restartDelay = 250;
      } else if (m.gatehouse === 'failure') {
        for (const other of Object.values(cluster.workers ?? {})) if (other && other.id !== worker.id && other.isConnected()) other.send(m);
      }
    });
    worker.on('exit', (code, signal) => {
      ready.delete(worker.id);
      if (stopping) return;
      options.log.error(`Gateway worker ${worker.process.pid} exited (${signal ?? code}); starting another in ${restartDelay} ms`);
      setTimeout(() => !stopping && fork(), restartDelay).unref();
      restartDelay = Math.min(restartDelay * 2, 10_000);
    });
  };
  for (let i = 0; i < options.count; i++) fork();

  const aggregator = new AggregatorRegistry();
  const summed = { contentType: aggregator.contentType, metrics: () => aggregator.clusterMetrics() } as unknown as Registry;
  const management = await startManagementServer({
    host: options.managementHost,
    port: options.managementPort,
    registry: summed,
    readiness: {
      workers: () => {
        const up = [...ready.values()].filter(Boolean).length;
        if (up < options.count) throw new Error(`${up} of ${options.count} workers ready`);
      },
    },
  });
  const workers = () => Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
  const stop = async () => {
    stopping = true;
    await Promise.all(
      workers().map(
        (w) =>
          new Promise<void>((resolve) => {
            if (w.isDead()) return resolve();
            const kill = setTimeout(() => w.process.kill('SIGKILL'), 15_000);
            w.once('exit', () => (clearTimeout(kill), resolve()));
            w.process.kill('SIGTERM');
          }),
      ),
    );
    await management.close();
  };
  options.log.log(
    `Gateway primary ${process.pid}: ${options.count} workers, connections spread by ${options.balance === 'kernel' ? 'the kernel (SO_REUSEPORT)' : 'the primary (round-robin)'}, management on ${management.url}`,
  );
  return { management, workers, stop };
}

/** Binds `host`:`port` (0: the kernel's choice) without SO_REUSEPORT, then lets it go: the port bound. */
function bindOnce(host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (e: NodeJS.ErrnoException) =>
      reject(new Error(`Gateway port ${host}:${port} is not free (${e.code ?? e.message}): another process listens on it`)),
    );
    probe.listen({ port, host, exclusive: true }, () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/** In a worker: the primary sums this registry into its /metrics. */
export function shareMetrics(registry: Registry): void {
  // Constructing one installs prom-client's worker-side listener that answers the primary.
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries([registry]);
}

/** In a worker: reports readiness to the primary whenever it changes (checked every `everyMs`). */
export function reportReadiness(isReady: () => boolean, everyMs = 500): () => void {
  let last: boolean | null = null;
  const tick = () => {
    const now = isReady();
    if (now !== last && process.connected) {
      last = now;
      process.send?.({ gatehouse: 'ready', ready: now } satisfies WorkerMessage);
    }
  };
  tick();
  const timer = setInterval(tick, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}

/**
 * In a worker: rate-limit failures seen here are told to the other workers (through the
 * primary), and theirs are recorded here, so a client cannot multiply its allowance by the number
 * of workers. Failures are rare next to requests: this costs nothing on the admitted path.
 */
export function shareFailures(limiters: Record<'ip' | 'id', Pick<RateLimiter, 'record' | 'onFail'>>): void {
  process.on('message', (m: unknown) => {
    if (isWorkerMessage(m) && m.gatehouse === 'failure') limiters[m.limiter].record(m.key, m.at);
  });
  for (const limiter of ['ip', 'id'] as const) {
    limiters[limiter].onFail = (key, at) => {
      if (process.connected) process.send?.({ gatehouse: 'failure', limiter, key, at } satisfies WorkerMessage);
    };
  }
}
