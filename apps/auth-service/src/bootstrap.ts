import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { RpcErrorFilter, natsOptions } from '@gatehouse/nest-kit';
import { AppModule } from './app.module.js';
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
 * Starts the gateway as a Nest microservice: signing keys from PostgreSQL, the HTTP data plane
 * (answers 503 until the replica is loaded), the change-event subscriptions, then the replica's
 * first pull (after the subscriptions, so no change falls between the two).
 */
export async function startGateway(env: AuthServiceEnv, log: Log = consoleLog(env.GATEHOUSE_LOG_LEVEL)): Promise<RunningGateway> {
  const app = await NestFactory.createMicroservice(AppModule.forRoot(env, log), {
    ...natsOptions(env.NATS_URL, 'auth-service'),
    logger: logLevels(env.GATEHOUSE_LOG_LEVEL),
  });
  app.useGlobalFilters(new RpcErrorFilter());
  await app.listen();
  const host = app.get(GatewayHost);
  const replica = app.get(Replica);
  const sync = app.get(ReplicaSync);
  await sync.start();
  log.log(`Gateway on http://${env.GATEHOUSE_GATEWAY_HOST}:${host.port} (replica at revision ${replica.revision}, iss ${env.GATEHOUSE_TEAM_URL})`);
  return {
    port: host.port,
    url: `http://${env.GATEHOUSE_GATEWAY_HOST}:${host.port}`,
    connections: () => host.connections(),
    replica,
    keys: app.get(KeyRing),
    sync,
    stop: () => app.close(),
  };
}

function logLevels(level: AuthServiceEnv['GATEHOUSE_LOG_LEVEL']) {
  const all = ['error', 'warn', 'log', 'debug'] as const;
  return all.slice(0, all.indexOf(level) + 1) as Array<(typeof all)[number]>;
}
