import { NatsEnv, checkNatsEnv, parseEnv } from '@gatehouse/config';
import { z } from 'zod';

const Port = z.coerce.number().int().min(0).max(65535);
export const Env = z.object({
  ...NatsEnv,
  GATEHOUSE_API_PORT: Port.default(8080),
  GATEHOUSE_API_HOST: z.string().min(1).default('127.0.0.1'),
  /** Bearer credential for every admin route. `npm start` generates one when it is unset. */
  GATEHOUSE_ADMIN_TOKEN: z.string().min(24, 'must be at least 24 characters (generate with: openssl rand -hex 32)'),
  /** Folder with the dashboard's built files, served at `/`; unset to serve none. */
  GATEHOUSE_DASHBOARD_DIR: z.string().optional(),
  GATEHOUSE_RPC_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(5000),
  GATEHOUSE_LOG_LEVEL: z.enum(['error', 'warn', 'log', 'debug']).default('log'),
}).superRefine(checkNatsEnv);
export type ApiEnv = z.infer<typeof Env>;
export const API_ENV = Symbol('API_ENV');

export function loadEnv(source: Record<string, string | undefined> = process.env): ApiEnv {
  return parseEnv(Env, 'api', source);
}
