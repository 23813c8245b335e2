import { Logger } from '@nestjs/common';
import { startNotificationService } from './bootstrap.js';
import { loadEnv } from './config/env.js';

try {
  const env = loadEnv();
  await startNotificationService(env);
  new Logger('notification-service').log(`notification-service listening on NATS ${env.NATS_URL}`);
} catch (error) {
  console.error((error as Error).message);
  process.exit(1);
}
