import { parseEnv } from '@gatehouse/nest-kit';
import { z } from 'zod';

const Port = z.coerce.number().int().min(0).max(65535);
const Env = z.object({
  NATS_URL: z.string().min(1, 'must name a NATS server, e.g. nats://127.0.0.1:4222'),
  GATEHOUSE_API_PORT: Port.default(8080),
  GATEHOUSE_API_HOST: z.string().min(1).default('127.0.0.1'),
  /** Bearer credential for every admin route. `npm start` generates one when it is unset. */
  GATEHOUSE_ADMIN_TOKEN: z.string().min(24, 'must be at least 24 characters (generate with: openssl rand -hex 32)'),
  /** Folder with the dashboard's built files, served at `/`; unset to serve none. */
  GATEHOUSE_DASHBOARD_DIR: z.string().optional(),
  GATEHOUSE_RPC_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(5000),
  /** The management port (/metrics, /healthz, /readyz): keep it off the internet. 0 picks a free port. */
  GATEHOUSE_MANAGEMENT_HOST: z.string().min(1).default('127.0.0.1'),
  GATEHOUSE_API_MANAGEMENT_PORT: z.coerce.number().int().min(0).max(65535).default(9461),
  /** json (one object a line) or pretty (plain text lines, no colours); default: json unless stdout is a terminal. */
  GATEHOUSE_LOG_FORMAT: z.enum(['json', 'pretty']).optional(),
  GATEHOUSE_LOG_LEVEL: z.enum(['error', 'warn', 'log', 'debug']).default('log'),
});
export type ApiEnv = z.infer<typeof Env>;
export const API_ENV = Symbol('API_ENV');

export function loadEnv(source: Record<string, string | undefined> = process.env): ApiEnv {
  return parseEnv(Env, 'api', source);
}
