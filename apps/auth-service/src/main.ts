import cluster from 'node:cluster';
import { consoleLog, startGateway } from './bootstrap.js';
import { loadEnv } from './config/env.js';
import { runPrimary, workerCount } from './workers.js';

try {
  const env = loadEnv();
  const log = consoleLog(env.GATEHOUSE_LOG_LEVEL, env.GATEHOUSE_LOG_FORMAT);
  const count = workerCount(env.GATEHOUSE_GATEWAY_WORKERS);
  // GATEHOUSE_GATEWAY_WORKERS > 1: this process is the primary; the workers run this file too.
  const running =
    count > 1 && cluster.isPrimary
      ? await runPrimary({
          count,
          balance: env.GATEHOUSE_GATEWAY_BALANCE,
          port: env.GATEHOUSE_GATEWAY_PORT,
          host: env.GATEHOUSE_GATEWAY_HOST,
          managementHost: env.GATEHOUSE_MANAGEMENT_HOST,
          managementPort: env.GATEHOUSE_GATEWAY_MANAGEMENT_PORT,
          log,
        })
      : await startGateway(env, log);
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    running.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
} catch (error) {
  console.error((error as Error).message);
  process.exit(1);
}
