import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { natsAuth } from '@gatehouse/config';
import { RpcErrorFilter, bootLogger, listenOrClose, natsOptions } from '@gatehouse/nest-kit';
import { createLogger } from '@gatehouse/observability';
import { AppModule, type SharedKeyRing } from './app.module.js';
import type { AuthServiceEnv } from './config/env.js';
import { GatewayHost } from './gateway/gateway.host.js';
import { KeyRing } from './keys/key-ring.js';
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
  return {
    log: (m) => logger.info(m),
    warn: (m) => logger.warn(m),
    error: (m) => logger.error(m),
    ...(level === 'debug' ? { debug: (fields: Record<string, unknown>, m: string) => logger.debug(fields, m) } : {}),
  };
}

/**
 * Starts the gateway as a Nest microservice: the change-event subscriptions, the HTTP data plane
 * (answers 503 until the replica and the signing keys are loaded), then the replica's first pull
 * (after the subscriptions, so no change falls between the two), while the signing keys load from
 * PostgreSQL. Resolves once both are loaded; rejects, closed, when the keys cannot be.
 */
export async function startGateway(env: AuthServiceEnv, log: Log = consoleLog(env.GATEHOUSE_LOG_LEVEL, env.GATEHOUSE_LOG_FORMAT)): Promise<RunningGateway> {
  const app = await NestFactory.createMicroservice(AppModule.forRoot(env, log), {
    // No queue group: every gateway gets every change event (the keys RPCs name their own queue).
    ...natsOptions(env.NATS_URL, 'auth-service', undefined, natsAuth(env, 'auth-service')),
    logger: bootLogger({ service: 'gateway', level: env.GATEHOUSE_LOG_LEVEL, format: env.GATEHOUSE_LOG_FORMAT }),
    abortOnError: false,
  });
  app.useGlobalFilters(new RpcErrorFilter());
  await listenOrClose(app, () => app.listen());
  const host = app.get(GatewayHost);
  const replica = app.get(Replica);
  const sync = app.get(ReplicaSync);
  const keys = app.get<KeyRing, SharedKeyRing>(KeyRing);
  // The first pull runs while the signing keys load (a first start makes its key meanwhile).
  await listenOrClose(app, () => Promise.all([sync.start(), keys.ready]));
  log.log(`Gateway on http://${env.GATEHOUSE_GATEWAY_HOST}:${host.port} (replica at revision ${replica.revision}, iss ${env.GATEHOUSE_TEAM_URL})`);
  return {
    port: host.port,
    url: `http://${env.GATEHOUSE_GATEWAY_HOST}:${host.port}`,
    connections: () => host.connections(),
    managementUrl: host.managementUrl,
    replica,
    keys,
    sync,
    stop: () => app.close(),
  };
}
