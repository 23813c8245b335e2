import cluster from 'node:cluster';
import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { createServiceRegistry, startManagementServer, type ManagementServer } from '@gatehouse/observability';
import { AUTH_SERVICE_ENV, type AuthServiceEnv } from '../config/env.js';
import { KeyRing } from '../keys/key-ring.js';
import { Replica } from '../replica/replica.js';
import { GATEWAY_LOG, ReplicaSync, type Log } from '../replica/replica-sync.js';
import { AccessControl } from './access.js';
import { JwtService } from './jwt.js';
import { GatewayMetrics } from './metrics.js';
import { RateLimiter } from './rate-limiter.js';
import { Recorder } from './recorder.js';
import { Gateway } from './server.js';
import { reportReadiness, shareFailures, shareMetrics } from '../workers.js';

/** What the host needs to know of the NATS connection (state for health, the access-log stream). */
export interface NatsLink {
  readonly connected: boolean;
  ensureAccessLogStream(replicas?: number): Promise<void>;
}
export const NATS_LINK = Symbol('NATS_LINK');

/**
 * The raw node:http data plane as a provider: built once from its decision objects (the request
 * path never touches DI or RxJS), listening in onApplicationBootstrap and stopped, in order, in
 * beforeApplicationShutdown: stop following, stop accepting and drain, flush the access log (NATS
 * is closed after, by NatsClientModule).
 */
@Injectable()
export class GatewayHost implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  readonly gateway: Gateway;
  port = 0;
  private readonly registry = createServiceRegistry('gateway');
  private readonly metrics = new GatewayMetrics(this.registry);
  private management?: ManagementServer;
  /** A node:cluster worker (GATEHOUSE_GATEWAY_WORKERS > 1): the primary serves the management port. */
  private readonly isWorker = cluster.isWorker;
  private stopReporting?: () => void;

  constructor(
    @Inject(AUTH_SERVICE_ENV) private readonly env: AuthServiceEnv,
    @Inject(GATEWAY_LOG) private readonly log: Log,
    private readonly keys: KeyRing,
    private readonly replica: Replica,
    private readonly sync: ReplicaSync,
    private readonly recorder: Recorder,
    @Inject(NATS_LINK) private readonly nats: NatsLink,
  ) {
    const jwts = new JwtService(keys, env.GATEHOUSE_TEAM_URL);
    const staleAfter = 3 * env.GATEHOUSE_RESYNC_INTERVAL_MS;
    const limiter = new RateLimiter(env.GATEHOUSE_RATE_LIMIT_BURST, env.GATEHOUSE_RATE_LIMIT_PER_MINUTE);
    const ipLimiter = new RateLimiter(env.GATEHOUSE_RATE_LIMIT_IP_BURST, env.GATEHOUSE_RATE_LIMIT_IP_PER_MINUTE);
    // Workers tell each other of failed attempts, so a rate limit holds across them.
    if (this.isWorker) shareFailures({ id: limiter, ip: ipLimiter });
    this.gateway = new Gateway({
      replica,
      access: new AccessControl(replica, jwts, env.GATEHOUSE_HASH_KEY, (kid) => keys.publicKey(kid) !== undefined),
      limiter,
      ipLimiter,
      recorder,
      certs: () => keys.certs(),
      keysLoaded: () => keys.loaded,
      health: () => {
        const now = Date.now();
        const stale = !nats.connected || sync.lastSyncAt === null || now - sync.lastSyncAt > staleAfter;
        return {
          status: !replica.loaded || !keys.loaded ? 'loading' : stale ? 'stale' : 'ok',
          stale,
          revision: replica.revision,
          last_sync_at: sync.lastSyncAt ? new Date(sync.lastSyncAt).toISOString() : null,
          nats_connected: nats.connected,
          last_sync_error: sync.lastError,
          signing_keys: keys.kids(),
          access_log_pending: recorder.pending,
          access_log_dropped: recorder.dropped,
          pid: process.pid, // which worker answered (GATEHOUSE_GATEWAY_WORKERS)
        };
      },
      healthDetails: env.GATEHOUSE_HEALTH_DETAILS,
      forwardAuthHeaders: env.GATEHOUSE_FORWARD_AUTH_HEADERS,
      trustProxy: env.GATEHOUSE_TRUST_PROXY,
      cookieSecure: env.cookieSecure,
      upstreams: { maxConnectionsPerOrigin: env.GATEHOUSE_UPSTREAM_MAX_CONNECTIONS, maxTunnels: env.GATEHOUSE_MAX_TUNNELS },
      onError: (e, ray) => log.error(`Unhandled error (ray ${ray}): ${e.stack ?? e.message}`),
      // GATEHOUSE_LOG_LEVEL=debug: one line per decision, with its ray id.
      logDecision: log.debug ? (fields) => log.debug!(fields, 'access decision') : undefined,
      metrics: this.metrics,
    });
    this.metrics.observe(this.registry, {
      replicaRevision: () => replica.revision,
      replicaRevisionLag: () => replica.revisionLag,
      lastSyncAt: () => sync.lastSyncAt,
      natsConnected: () => nats.connected,
      accessLogPending: () => recorder.pending,
      accessLogDropped: () => recorder.dropped,
      openConnections: () => this.connections(),
      openTunnels: () => this.gateway.openTunnels,
    });
  }

  /** The management port (/metrics, /healthz, /readyz); '' before the app booted. */
  get managementUrl(): string {
    return this.management?.url ?? '';
  }

  /** Answers 503 replica_loading until the follower caught up (started by the bootstrap), then signing_keys_loading until the keys are loaded. */
  async onApplicationBootstrap(): Promise<void> {
    // Decisions wait in the recorder (and are retried) until this works; say so, never fail start.
    await this.nats
      .ensureAccessLogStream(this.env.GATEHOUSE_ACCESS_LOG_REPLICAS)
      .catch((e: Error) => this.log.warn(`Access-log stream not ready (decisions are kept and retried): ${e.message}`));
    this.port = await this.gateway.listen(
      this.env.GATEHOUSE_GATEWAY_PORT,
      this.env.GATEHOUSE_GATEWAY_HOST,
      this.isWorker && this.env.GATEHOUSE_GATEWAY_BALANCE === 'kernel',
    );
    if (this.isWorker) {
      // The primary sums this worker's metrics and is ready when every worker is.
      shareMetrics(this.registry);
      this.stopReporting = reportReadiness(() => this.replica.loaded && this.keys.loaded && this.nats.connected);
      this.recorder.start();
      return;
    }
    const { GATEHOUSE_MANAGEMENT_HOST: host, GATEHOUSE_GATEWAY_MANAGEMENT_PORT: port } = this.env;
    this.management = await startManagementServer({
      host,
      port,
      registry: this.registry,
      // Ready: the replica is loaded and NATS is connected (the data plane answers 503 before).
      readiness: {
        replica: () => {
          if (!this.replica.loaded) throw new Error('replica not loaded yet');
        },
        signing_keys: () => {
          if (!this.keys.loaded) throw new Error('signing keys not loaded yet');
        },
        nats: () => {
          if (!this.nats.connected) throw new Error('not connected');
        },
      },
    }).catch(async (error: Error) => {
      await this.gateway.close();
      throw new Error(`auth-service: cannot open the management port ${host}:${port} (GATEHOUSE_GATEWAY_MANAGEMENT_PORT): ${error.message}`);
    });
    this.recorder.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopReporting?.();
    void this.sync.stop(); // a pull in flight ends with the NATS client, not awaited
    this.keys.stop();
    await this.gateway.close();
    await this.recorder.stop();
    // Held in memory only: say what a stop during a NATS outage could not hand over.
    if (this.recorder.pending > 0) this.log.error(`Stopping with ${this.recorder.pending} access-log entries not stored (NATS or its stream unavailable)`);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.management?.close();
  }

  connections(): Promise<number> {
    return new Promise((resolve, reject) => this.gateway.front.server.getConnections((e, n) => (e ? reject(e) : resolve(n))));
  }
}
