import 'reflect-metadata';
import type { INestMicroservice } from '@nestjs/common';
import { natsAuth } from '@gatehouse/config';
import { startRpcService } from '@gatehouse/nest-kit';
import { createServiceRegistry } from '@gatehouse/observability';
import { AppModule, type TokenServiceOptions } from './app.module.js';
import type { TokenServiceEnv } from './config/env.js';

/** Creates and starts the token service (used by main.ts and by integration tests). */
export async function startTokenService(env: TokenServiceEnv, options: TokenServiceOptions = {}): Promise<INestMicroservice> {
  const registry = createServiceRegistry('token-service');
  return startRpcService(AppModule.forRoot(env, { ...options, registry }), {
    service: 'token-service',
    natsUrl: env.NATS_URL,
    queue: env.GATEHOUSE_NATS_QUEUE,
    auth: natsAuth(env, 'token-service'),
    log: { level: env.GATEHOUSE_LOG_LEVEL, format: env.GATEHOUSE_LOG_FORMAT },
    registry,
  });
}
