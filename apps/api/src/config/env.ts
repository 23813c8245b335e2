import { NatsEnv, checkNatsEnv, parseEnv } from '@gatehouse/config';
import { z } from 'zod';

const Port = z.coerce.number().int().min(0).max(65535);
const AdminToken = z.string().min(24, 'must be at least 24 characters (generate with: openssl rand -hex 32)');
export const Env = z.object({
  ...NatsEnv,
  GATEHOUSE_API_PORT: Port.default(8080),
  GATEHOUSE_API_HOST: z.string().min(1).default('127.0.0.1'),
  /** Bearer credential for every admin route. `npm start` generates one when it is unset. */
  GATEHOUSE_ADMIN_TOKEN: AdminToken.optional(),
  /**
   * More admin tokens, comma-separated, each accepted like GATEHOUSE_ADMIN_TOKEN: rotation without
   * downtime (add the new token, move the clients, then drop the old one).
   */
  GATEHOUSE_ADMIN_TOKENS: z
    .string()
    .optional()
    .transform((list) =>
      (list ?? '')
        .split(',')
        .map((t) => t.trim())
        .filter(Boolean),
    )
    .pipe(z.array(AdminToken)),
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
/** At least one admin token, from either variable; NATS settings that go together. */
const CheckedEnv = Env.superRefine((env, ctx) => {
  checkNatsEnv(env, ctx);
  if (!env.GATEHOUSE_ADMIN_TOKEN && env.GATEHOUSE_ADMIN_TOKENS.length === 0) {
    ctx.addIssue({
      code: 'custom',
      path: ['GATEHOUSE_ADMIN_TOKEN'],
      message: 'set GATEHOUSE_ADMIN_TOKEN or GATEHOUSE_ADMIN_TOKENS (generate with: openssl rand -hex 32)',
    });
  }
});
export type ApiEnv = z.infer<typeof Env>;
export const API_ENV = Symbol('API_ENV');

/** Every accepted admin token: GATEHOUSE_ADMIN_TOKEN and the entries of GATEHOUSE_ADMIN_TOKENS. */
export function adminTokens(env: Pick<ApiEnv, 'GATEHOUSE_ADMIN_TOKEN' | 'GATEHOUSE_ADMIN_TOKENS'>): string[] {
  return [...new Set([...(env.GATEHOUSE_ADMIN_TOKEN ? [env.GATEHOUSE_ADMIN_TOKEN] : []), ...env.GATEHOUSE_ADMIN_TOKENS])];
}

export function loadEnv(source: Record<string, string | undefined> = process.env): ApiEnv {
  return parseEnv(CheckedEnv, 'api', source);
}
