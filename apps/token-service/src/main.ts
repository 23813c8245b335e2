import { Logger } from '@nestjs/common';
import { startTokenService } from './bootstrap.js';
import { loadEnv } from './config/env.js';

try {
  const env = loadEnv();
  await startTokenService(env);
  new Logger('token-service').log(`token-service listening on NATS ${env.NATS_URL}`);
} catch (error) {
  console.error((error as Error).message);
  process.exit(1);
}
