import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { INestMicroservice } from '@nestjs/common';
import { natsAuth } from '@gatehouse/config';
import { PinoLogger, bootLogger, RpcErrorFilter, RpcMetrics, RpcMetricsInterceptor, natsOptions } from '@gatehouse/nest-kit';
import { createServiceRegistry } from '@gatehouse/observability';
import { AppModule, type TokenServiceOptions } from './app.module.js';
import type { TokenServiceEnv } from './config/env.js';

/** Creates and starts the token service (used by main.ts and by integration tests). */
export async function startTokenService(env: TokenServiceEnv, options: TokenServiceOptions = {}): Promise<INestMicroservice> {
  const registry = createServiceRegistry('token-service');
  const app = await NestFactory.createMicroservice(AppModule.forRoot(env, { ...options, registry }), {
    ...natsOptions(env.NATS_URL, 'token-service', env.GATEHOUSE_NATS_QUEUE, natsAuth(env, 'token-service')),
    logger: bootLogger({ service: 'token-service', level: env.GATEHOUSE_LOG_LEVEL, format: env.GATEHOUSE_LOG_FORMAT }),
    abortOnError: false,
  });
  app.useLogger(app.get(PinoLogger));
  app.useGlobalFilters(new RpcErrorFilter());
  app.useGlobalInterceptors(new RpcMetricsInterceptor(new RpcMetrics(registry)));
  app.enableShutdownHooks();
  await app.listen();
  return app;
}
