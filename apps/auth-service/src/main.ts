import { consoleLog, startGateway } from './bootstrap.js';
import { loadEnv } from './config/env.js';

try {
  const env = loadEnv();
  const gateway = await startGateway(env, consoleLog(env.GATEHOUSE_LOG_LEVEL, env.GATEHOUSE_LOG_FORMAT));
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    gateway.stop().then(
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
