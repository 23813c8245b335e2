import { AccessDecisionsRecorded, TokensSeen } from '@gatehouse/contracts';
import { natsAuth } from '@gatehouse/config';
import { createLogger, createServiceRegistry, startManagementServer } from '@gatehouse/observability';
import type { AuthServiceEnv } from './config/env.js';
import { createPool } from './keys/database.js';
import { deriveEncryptionKey } from './keys/key-crypto.js';
import { KeyRing } from './keys/key-ring.js';
import { SigningKeysHandler, serveSigningKeys } from './keys/keys.handler.js';
import { AccessControl } from './gateway/access.js';
import { JwtService } from './gateway/jwt.js';
import { GatewayMetrics } from './gateway/metrics.js';
import { RateLimiter } from './gateway/rate-limiter.js';
import { DEFAULT_RECORDER_LIMITS, Recorder } from './gateway/recorder.js';
import { Gateway } from './gateway/server.js';
import { NatsBus } from './replica/nats-bus.js';
import { Replica } from './replica/replica.js';
import { ReplicaSync, type Log } from './replica/replica-sync.js';

export interface RunningGateway {
  port: number;
  url: string;
  /** Open client connections (tests: nothing is left behind). */
  connections(): Promise<number>;
  /** The management port (/metrics, /healthz, /readyz). */
  managementUrl: string;
  replica: Replica;
  keys: KeyRing;
  sync: ReplicaSync;
  stop(): Promise<void>;
}

/** The gateway's log: the shared pino logger (JSON lines, or plain text with GATEHOUSE_LOG_FORMAT=pretty). */
export function consoleLog(level: AuthServiceEnv['GATEHOUSE_LOG_LEVEL'], format?: AuthServiceEnv['GATEHOUSE_LOG_FORMAT']): Log {
  const logger = createLogger({ service: 'gateway', level, format });
  return { log: (m) => logger.info(m), warn: (m) => logger.warn(m), error: (m) => logger.error(m) };
}

/**
 * Starts the gateway: signing keys from PostgreSQL (created/rotated under an advisory lock), the
 * HTTP data plane (answers 503 until the replica is loaded), then the replica over NATS.
 */
export async function startGateway(env: AuthServiceEnv, log: Log = consoleLog(env.GATEHOUSE_LOG_LEVEL, env.GATEHOUSE_LOG_FORMAT)): Promise<RunningGateway> {
  const pool = createPool(env.DATABASE_URL);
  const keys = new KeyRing(pool, deriveEncryptionKey(env.GATEHOUSE_KEY_ENCRYPTION_KEY ?? env.GATEHOUSE_HASH_KEY), env.GATEHOUSE_KEY_ROTATION_INTERVAL, env.GATEHOUSE_TEAM_URL);
  try {
    await keys.init();
  } catch (error) {
    await pool.end();
    throw new Error(`auth-service: cannot load signing keys (did the migration run?): ${(error as Error).message}`);
  }
  keys.start((e) => log.warn(`Signing key refresh failed (keeping the loaded keys): ${e.message}`));

  const replica = new Replica();
  const bus = await NatsBus.connect(env.NATS_URL, 'auth-service', natsAuth(env, 'auth-service'));
  const sync = new ReplicaSync(bus, replica, env.GATEHOUSE_RESYNC_INTERVAL_MS, log);
  // access/keys (get, interval, rotate now): answered by one gateway replica over NATS.
  serveSigningKeys(bus.nc, new SigningKeysHandler(keys, log), (e) => log.warn(`Signing keys request failed: ${e.message}`));
  const recorder = new Recorder({
    publishSeen: (p) => bus.publish(TokensSeen, p),
    publishDecisions: (p) => bus.publishDurable(AccessDecisionsRecorded, p, p.batchId),
  }, 1000, { ...DEFAULT_RECORDER_LIMITS, maxBatch: env.GATEHOUSE_ACCESS_LOG_MAX_DISTINCT_PER_SECOND });
  // Decisions wait in the recorder (and are retried) until this works; say so, never fail start.
  await bus.ensureAccessLogStream(env.GATEHOUSE_ACCESS_LOG_REPLICAS).catch((e: Error) => log.warn(`Access-log stream not ready (decisions are kept and retried): ${e.message}`));
  const jwts = new JwtService(keys, env.GATEHOUSE_TEAM_URL);
  const access = new AccessControl(replica, jwts, env.GATEHOUSE_HASH_KEY, (kid) => keys.publicKey(kid) !== undefined);
  const limiter = new RateLimiter(env.GATEHOUSE_RATE_LIMIT_BURST, env.GATEHOUSE_RATE_LIMIT_PER_MINUTE);
  const ipLimiter = new RateLimiter(env.GATEHOUSE_RATE_LIMIT_IP_BURST, env.GATEHOUSE_RATE_LIMIT_IP_PER_MINUTE);
  const staleAfter = 3 * env.GATEHOUSE_RESYNC_INTERVAL_MS;
  const registry = createServiceRegistry('gateway');
  const metrics = new GatewayMetrics(registry);
  const gateway = new Gateway({
    replica,
    access,
    limiter,
    ipLimiter,
    recorder,
    certs: () => keys.certs(),
    health: () => {
      const now = Date.now();
      const stale = !bus.connected || replica.lastSyncAt === null || now - replica.lastSyncAt > staleAfter;
      return {
        status: !replica.loaded ? 'loading' : stale ? 'stale' : 'ok',
        stale,
        revision: replica.revision,
        last_sync_at: replica.lastSyncAt ? new Date(replica.lastSyncAt).toISOString() : null,
        nats_connected: bus.connected,
        last_sync_error: sync.lastError,
        signing_keys: keys.kids(),
        access_log_pending: recorder.pending,
        access_log_dropped: recorder.dropped,
      };
    },
    healthDetails: env.GATEHOUSE_HEALTH_DETAILS,
    forwardAuthHeaders: env.GATEHOUSE_FORWARD_AUTH_HEADERS,
    trustProxy: env.GATEHOUSE_TRUST_PROXY,
    cookieSecure: env.cookieSecure,
    upstreams: { maxConnectionsPerOrigin: env.GATEHOUSE_UPSTREAM_MAX_CONNECTIONS, maxTunnels: env.GATEHOUSE_MAX_TUNNELS },
    onError: (e) => log.error(`Unhandled error: ${e.stack ?? e.message}`),
    metrics,
  });
  const port = await gateway.listen(env.GATEHOUSE_GATEWAY_PORT, env.GATEHOUSE_GATEWAY_HOST);
  const connections = () => new Promise<number>((resolve, reject) => gateway.server.getConnections((e, n) => (e ? reject(e) : resolve(n))));
  metrics.observe(registry, {
    replicaRevision: () => replica.revision,
    replicaRevisionLag: () => replica.revisionLag,
    lastSyncAt: () => replica.lastSyncAt,
    natsConnected: () => bus.connected,
    accessLogPending: () => recorder.pending,
    accessLogDropped: () => recorder.dropped,
    openConnections: connections,
    openTunnels: () => gateway.openTunnels,
  });
  const management = await startManagementServer({
    host: env.GATEHOUSE_MANAGEMENT_HOST,
    port: env.GATEHOUSE_GATEWAY_MANAGEMENT_PORT,
    registry,
    readiness: {
      replica: () => {
        if (!replica.loaded) throw new Error('replica not loaded yet');
      },
      nats: () => {
        if (!bus.connected) throw new Error('not connected');
      },
    },
  }).catch(async (error: Error) => {
    await gateway.close();
    throw new Error(`auth-service: cannot open the management port ${env.GATEHOUSE_MANAGEMENT_HOST}:${env.GATEHOUSE_GATEWAY_MANAGEMENT_PORT} (GATEHOUSE_GATEWAY_MANAGEMENT_PORT): ${error.message}`);
  });
  recorder.start();
  await sync.start();
  log.log(`Gateway on http://${env.GATEHOUSE_GATEWAY_HOST}:${port} (replica at revision ${replica.revision}, iss ${env.GATEHOUSE_TEAM_URL})`);
  return {
    port,
    url: `http://${env.GATEHOUSE_GATEWAY_HOST}:${port}`,
    managementUrl: management.url,
    connections,
    replica,
    keys,
    sync,
    async stop() {
      sync.stop();
      keys.stop();
      await gateway.close();
      await management.close();
      await recorder.stop();
      // Held in memory only: say what a stop during a NATS outage could not hand over.
      if (recorder.pending > 0) log.error(`Stopping with ${recorder.pending} access-log entries not stored (NATS or its stream unavailable)`);
      await bus.close();
      await pool.end();
    },
  };
}
