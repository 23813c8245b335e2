import { Logger } from '@nestjs/common';
import { startApi } from './bootstrap.js';
import { loadEnv } from './config/env.js';

try {
  const env = loadEnv();
  const { url } = await startApi(env);
  new Logger('api').log(`admin API listening on ${url}/client/v4 (docs at ${url}/docs)`);
} catch (error) {
  console.error((error as Error).message);
  process.exit(1);
}
