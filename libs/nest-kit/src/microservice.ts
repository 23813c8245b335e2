import type { DynamicModule, INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NatsAuth } from '@gatehouse/config';
import type { LoggerSettings, Registry } from '@gatehouse/observability';
import { PinoLogger, bootLogger } from './logging.js';
import { RpcMetrics, RpcMetricsInterceptor } from './management.js';
import { natsOptions } from './nats.js';
import { RpcErrorFilter } from './rpc-error.filter.js';

export interface RpcServiceSettings {
  /** Its logs' service name, and its NATS connection's. */
  service: string;
  natsUrl: string;
  /** The queue group replicas share requests in. */
  queue?: string;
  auth?: NatsAuth;
  log: Omit<LoggerSettings, 'service'>;
  /** Where the RPC metrics go (the module's own metrics should go there too). */
  registry: Registry;
}

/**
 * Creates and starts a service answering over NATS the way every Gatehouse service does: JSON logs
 * (from boot on), the one RPC error filter, RPC metrics, shutdown on SIGTERM.
 */
export async function startRpcService(module: DynamicModule, s: RpcServiceSettings): Promise<INestMicroservice> {
  const app = await NestFactory.createMicroservice(module, {
    ...natsOptions(s.natsUrl, s.service, s.queue, s.auth),
    logger: bootLogger({ service: s.service, ...s.log }),
    abortOnError: false,
  });
  app.useLogger(app.get(PinoLogger));
  app.useGlobalFilters(new RpcErrorFilter());
  app.useGlobalInterceptors(new RpcMetricsInterceptor(new RpcMetrics(s.registry)));
  app.enableShutdownHooks();
  await listenOrClose(app, () => app.listen());
  return app;
}

/**
 * Runs `listen` (which boots the app's modules: NATS connected, database pooled, timers started);
 * when it fails (a port in use, a database that refuses) closes what did start before the error
 * goes on, so a failed start leaves no connection or timer behind (a test's process can exit, a
 * caller can retry).
 */
export async function listenOrClose(app: { close(): Promise<void> }, listen: () => Promise<unknown>): Promise<void> {
  try {
    await listen();
  } catch (error) {
    await app.close().catch(() => undefined);
    throw error;
  }
}
