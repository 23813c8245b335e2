import { parseDuration } from '@gatehouse/contracts';
import { NatsEnv, checkNatsEnv, parseEnv } from '@gatehouse/config';
import { z } from 'zod';

export const Env = z
  .object({
    DATABASE_URL: z.string().url('must be a postgres:// URL'),
    ...NatsEnv,
    /** Key of the HMAC that stores client secrets; shared with the gateway, never in the database. */
    GATEHOUSE_HASH_KEY: z.string().min(32, 'must be at least 32 characters (generate with: openssl rand -hex 32)'),
    GATEHOUSE_NATS_QUEUE: z.string().min(1).default('token-service'),
    /** On how many NATS cluster servers the access-log stream is stored when it is created (1–5). */
    GATEHOUSE_ACCESS_LOG_REPLICAS: z.coerce.number().int().min(1).max(5).optional(),
    /**
     * How long tombstones of deleted tokens, apps and policies are kept for replicas to pull (a
     * duration such as "168h"). A replica offline for longer reloads everything on reconnect.
     */
    GATEHOUSE_TOMBSTONE_RETENTION: z
      .string()
      .default('168h')
      .transform((value, ctx) => {
        try {
          const ms = parseDuration(value);
          if (ms === null || ms < 60_000) throw new RangeError('must be a finite duration of at least 1m');
          return ms;
        } catch (e) {
          ctx.addIssue({ code: 'custom', message: (e as Error).message });
          return z.NEVER;
        }
      }),
    /** How often the service-token inactivity cleanup runs, in ms (default 3600000, one hour; 0 turns the schedule off). */
    GATEHOUSE_INACTIVITY_SWEEP_INTERVAL_MS: z.coerce.number().int().min(0).optional(),
    /** The management port (/metrics, /healthz, /readyz): keep it off the internet. 0 picks a free port. */
    GATEHOUSE_MANAGEMENT_HOST: z.string().min(1).default('127.0.0.1'),
    GATEHOUSE_TOKEN_SERVICE_MANAGEMENT_PORT: z.coerce.number().int().min(0).max(65535).default(9463),
    /** json (one object a line) or pretty (plain text lines, no colours); default: json unless stdout is a terminal. */
    GATEHOUSE_LOG_FORMAT: z.enum(['json', 'pretty']).optional(),
    GATEHOUSE_LOG_LEVEL: z.enum(['error', 'warn', 'log', 'debug']).default('log'),
  })
  .superRefine(checkNatsEnv);
export type TokenServiceEnv = z.infer<typeof Env>;
export const TOKEN_SERVICE_ENV = Symbol('TOKEN_SERVICE_ENV');

/** Parses the environment once at boot; throws listing every bad key (values of secrets are never shown). */
export function loadEnv(source: Record<string, string | undefined> = process.env): TokenServiceEnv {
  return parseEnv(Env, 'token-service', source);
}
