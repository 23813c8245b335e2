import { AccessDecisionsRecorded, TokensSeen } from '@gatehouse/contracts';
import type { AuthServiceEnv } from './config/env.js';
import { createPool } from './keys/database.js';
import { deriveEncryptionKey } from './keys/key-crypto.js';
import { KeyRing } from './keys/key-ring.js';
import { AccessControl } from './gateway/access.js';
import { JwtService } from './gateway/jwt.js';
import { RateLimiter } from './gateway/rate-limiter.js';
import { Recorder } from './gateway/recorder.js';
import { Gateway } from './gateway/server.js';
import { NatsBus } from './replica/nats-bus.js';
import { Replica } from './replica/replica.js';
import { ReplicaSync, type Log } from './replica/replica-sync.js';

export interface RunningGateway {
  port: number;
  url: string;
  /** Open client connections (tests: nothing is left behind). */
  connections(): Promise<number>;
  replica: Replica;
  keys: KeyRing;
  sync: ReplicaSync;
  stop(): Promise<void>;
}

export function consoleLog(level: AuthServiceEnv['GATEHOUSE_LOG_LEVEL']): Log {
  const order = ['error', 'warn', 'log', 'debug'];
  const on = (l: string) => order.indexOf(l) <= order.indexOf(level);
  const stamp = () => new Date().toISOString();
  return {
    log: (m) => on('log') && console.log(`${stamp()} [auth-service] ${m}`),
    warn: (m) => on('warn') && console.warn(`${stamp()} [auth-service] WARN ${m}`),
    error: (m) => on('error') && console.error(`${stamp()} [auth-service] ERROR ${m}`),
  };
}

/**
 * Starts the gateway: signing keys from PostgreSQL (created/rotated under an advisory lock), the
 * HTTP data plane (answers 503 until the replica is loaded), then the replica over NATS.
 */
export async function startGateway(env: AuthServiceEnv, log: Log = consoleLog(env.GATEHOUSE_LOG_LEVEL)): Promise<RunningGateway> {
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
  const bus = await NatsBus.connect(env.NATS_URL, 'auth-service');
  const sync = new ReplicaSync(bus, replica, env.GATEHOUSE_RESYNC_INTERVAL_MS, log);
  const recorder = new Recorder({
    publishSeen: (p) => bus.publish(TokensSeen, p),
    publishDecisions: (p) => bus.publishDurable(AccessDecisionsRecorded, p, p.batchId),
  });
  // Decisions wait in the recorder (and are retried) until this works; say so, never fail start.
  await bus.ensureAccessLogStream(env.GATEHOUSE_ACCESS_LOG_REPLICAS).catch((e: Error) => log.warn(`Access-log stream not ready (decisions are kept and retried): ${e.message}`));
  const jwts = new JwtService(keys, env.GATEHOUSE_TEAM_URL);
  const access = new AccessControl(replica, jwts, env.GATEHOUSE_HASH_KEY, (kid) => keys.publicKey(kid) !== undefined);
  const limiter = new RateLimiter(env.GATEHOUSE_RATE_LIMIT_BURST, env.GATEHOUSE_RATE_LIMIT_PER_MINUTE);
  const ipLimiter = new RateLimiter(env.GATEHOUSE_RATE_LIMIT_IP_BURST, env.GATEHOUSE_RATE_LIMIT_IP_PER_MINUTE);
  const staleAfter = 3 * env.GATEHOUSE_RESYNC_INTERVAL_MS;
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
    trustProxy: env.GATEHOUSE_TRUST_PROXY,
    cookieSecure: env.cookieSecure,
    upstreams: { maxConnectionsPerOrigin: env.GATEHOUSE_UPSTREAM_MAX_CONNECTIONS, maxTunnels: env.GATEHOUSE_MAX_TUNNELS },
    onError: (e) => log.error(`Unhandled error: ${e.stack ?? e.message}`),
  });
  const port = await gateway.listen(env.GATEHOUSE_GATEWAY_PORT, env.GATEHOUSE_GATEWAY_HOST);
  recorder.start();
  await sync.start();
  log.log(`Gateway on http://${env.GATEHOUSE_GATEWAY_HOST}:${port} (replica at revision ${replica.revision}, iss ${env.GATEHOUSE_TEAM_URL})`);
  return {
    port,
    url: `http://${env.GATEHOUSE_GATEWAY_HOST}:${port}`,
    connections: () => new Promise((resolve, reject) => gateway.server.getConnections((e, n) => (e ? reject(e) : resolve(n)))),
    replica,
    keys,
    sync,
    async stop() {
      sync.stop();
      keys.stop();
      await gateway.close();
      await recorder.stop();
      // Held in memory only: say what a stop during a NATS outage could not hand over.
      if (recorder.pending > 0) log.error(`Stopping with ${recorder.pending} access-log entries not stored (NATS or its stream unavailable)`);
      await bus.close();
      await pool.end();
    },
  };
}
