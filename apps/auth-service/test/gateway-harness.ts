import http from 'node:http';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { createTestDatabase, startNats, type TestDatabase, type TestNats } from '@gatehouse/testing';
import { loadEnv, type AuthServiceEnv } from '../src/config/env.js';
import { migrate } from '../src/database/data-source.js';
import type { Log } from '../src/replica/replica-sync.js';
import { serveChangeFeed, type FeedState } from './change-feed.js';

export const HASH_KEY = 'h'.repeat(64);
export const silentLog: Log = { log: () => undefined, warn: () => undefined, error: () => undefined };

export interface HttpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A GET to `base` + `path` with the Host header of the application asked for. */
export function httpGet(base: string, path: string, headers: http.OutgoingHttpHeaders, host: string): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}${path}`, { headers: { host, ...headers } }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

export interface GatewayHarness {
  db: TestDatabase;
  nats: TestNats;
  /** The test's own connection: the stand-in token service answers on it; events are published on it. */
  nc: NatsConnection;
  /** The gateway's environment on this database and nats-server: the file's settings, then `over`. */
  env(over?: Record<string, string>): AuthServiceEnv;
  /** An event as @nestjs/microservices publishes it ({ pattern, data }). */
  emit(subject: string, data: unknown): void;
  /** Closes the connection, the nats-server and the database (the file stops its gateways first). */
  stop(): Promise<void>;
}

/**
 * What the gateway integration tests run against: a migrated database of their own (real
 * PostgreSQL), a nats-server of their own, and a stand-in token service serving `state()` as the
 * change feed (./change-feed.ts). Gateways are started by the file: `startGateway(h.env(), silentLog)`.
 */
export async function startGatewayHarness(
  state: () => FeedState,
  options: { env?: Record<string, string>; onPull?: () => void } = {},
): Promise<GatewayHarness> {
  const [db, nats] = await Promise.all([createTestDatabase((url) => migrate(url).then(() => undefined)), startNats()]);
  const nc = await connect({ servers: nats.url });
  serveChangeFeed(nc, state, options.onPull);
  await nc.flush();
  return {
    db,
    nats,
    nc,
    env: (over = {}) =>
      loadEnv({
        NATS_URL: nats.url,
        DATABASE_URL: db.url,
        GATEHOUSE_HASH_KEY: HASH_KEY,
        GATEHOUSE_GATEWAY_PORT: '0',
        GATEHOUSE_GATEWAY_MANAGEMENT_PORT: '0',
        GATEHOUSE_RESYNC_INTERVAL_MS: '500',
        GATEHOUSE_TEAM_URL: 'http://team.test',
        ...options.env,
        ...over,
      }),
    emit: (subject, data) => nc.publish(subject, JSON.stringify({ pattern: subject, data })),
    async stop() {
      await nc.close();
      await nats.stop();
      await db.drop();
    },
  };
}
