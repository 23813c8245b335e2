import 'reflect-metadata';
import type { INestMicroservice } from '@nestjs/common';
import { natsAuth } from '@gatehouse/config';
import { startRpcService } from '@gatehouse/nest-kit';
import { createServiceRegistry } from '@gatehouse/observability';
import { AppModule, type NotificationOptions } from './app.module.js';
import type { NotificationEnv } from './config/env.js';

/** Creates and starts the notification service (used by main.ts and by integration tests). */
export async function startNotificationService(env: NotificationEnv, options: NotificationOptions = {}): Promise<INestMicroservice> {
  const registry = options.registry ?? createServiceRegistry('notification-service');
  return startRpcService(AppModule.forRoot(env, { ...options, registry }), {
    service: 'notification-service',
    natsUrl: env.NATS_URL,
    queue: env.GATEHOUSE_NATS_QUEUE,
    auth: natsAuth(env, 'notification-service'),
    log: { level: env.GATEHOUSE_LOG_LEVEL, format: env.GATEHOUSE_LOG_FORMAT },
    registry,
  });
}
