import { parseDuration } from '@gatehouse/contracts';
import { NatsEnv, checkNatsEnv, parseEnv } from '@gatehouse/config';
import { z } from 'zod';
import { FORWARD_AUTH_MODES } from '../gateway/forward-auth.js';

const Millis = (what: string) =>
  z.string().transform((value, ctx) => {
    try {
      const ms = parseDuration(value);
      if (ms === null) throw new RangeError('must be finite');
      return ms;
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: `${what}: ${(e as Error).message}` });
      return z.NEVER;
    }
  });

const Int = (def: number, min = 1) => z.coerce.number().int().min(min).default(def);

export const Env = z
  .object({
    ...NatsEnv,
    DATABASE_URL: z.string().url('must be a postgres:// URL'),
    /** The token service's HMAC key: the gateway checks secrets against the stored hashes with it. */
    GATEHOUSE_HASH_KEY: z.string().min(32, 'must be at least 32 characters (generate with: openssl rand -hex 32)'),
    /** Encrypts signing keys at rest; derived from GATEHOUSE_HASH_KEY (HKDF) when unset. */
    GATEHOUSE_KEY_ENCRYPTION_KEY: z.string().min(32, 'must be at least 32 characters').optional(),
    GATEHOUSE_GATEWAY_PORT: z.coerce.number().int().min(0).max(65535).default(8000),
    GATEHOUSE_GATEWAY_HOST: z.string().min(1).default('127.0.0.1'),
    /** The `iss` of every JWT; default http://127.0.0.1:<gateway port>, the URL `npm start` prints. */
    GATEHOUSE_TEAM_URL: z.string().url('must be a URL such as https://access.example.com').optional(),
    GATEHOUSE_KEY_ROTATION_INTERVAL: Millis('GATEHOUSE_KEY_ROTATION_INTERVAL').default(30 * 24 * 3_600_000),
    /** How often an idle gateway asks the token service for its head revision (O(1)); a newer head makes it pull what it missed. Health turns `stale` after three intervals without an answer. */
    GATEHOUSE_RESYNC_INTERVAL_MS: Int(10_000, 100),
    /** On how many NATS cluster servers the access-log stream is stored when it is created (1–5). */
    GATEHOUSE_ACCESS_LOG_REPLICAS: z.coerce.number().int().min(1).max(5).optional(),
    /** Failed attempts allowed in a burst, per client id and per source address, and their refill rate. */
    GATEHOUSE_RATE_LIMIT_BURST: Int(20),
    GATEHOUSE_RATE_LIMIT_PER_MINUTE: Int(60),
    GATEHOUSE_RATE_LIMIT_IP_BURST: Int(100),
    GATEHOUSE_RATE_LIMIT_IP_PER_MINUTE: Int(600),
    /**
     * Distinct access decisions recorded per second (identical ones are counted in one entry);
     * beyond it, decisions are dropped and counted (health detail `access_log_dropped`).
     */
    GATEHOUSE_ACCESS_LOG_MAX_DISTINCT_PER_SECOND: Int(10_000),
    /**
     * Which headers name the original request of a forward-auth check: `auto` (every source
     * present; 400 when they disagree), `nginx` (X-Original-URL), `traefik` (X-Forwarded-Host +
     * X-Forwarded-Uri) or `envoy` (Host + the path after /authorize). See docs/gateway-forward-auth.md.
     */
    GATEHOUSE_FORWARD_AUTH_HEADERS: z.enum(FORWARD_AUTH_MODES).default('auto'),
    /**
     * `true`: /cdn-cgi/access/health answers its whole detail (revision, signing key ids, last
     * sync error, access-log pending and dropped counts) to anyone; otherwise only `{ status }`.
     */
    GATEHOUSE_HEALTH_DETAILS: z
      .enum(['true', 'false'])
      .default('false')
      .transform((v) => v === 'true'),
    /** Connections (busy and idle) the gateway opens to one upstream origin; beyond, a request waits briefly, then 503. */
    GATEHOUSE_UPSTREAM_MAX_CONNECTIONS: Int(512),
    /** Open upgrade (WebSocket) tunnels, all applications together; beyond, 503. */
    GATEHOUSE_MAX_TUNNELS: Int(10_000),
    /**
     * Gateway processes serving the one port (node:cluster): a number, or `auto` for one per core.
     * Each is a whole gateway; the primary serves the management port. See docs/gateway.md "Workers".
     */
    GATEHOUSE_GATEWAY_WORKERS: z.union([z.literal('auto'), z.coerce.number().int().min(1).max(64)]).default(1),
    /**
     * How new connections reach the workers: `kernel` (each worker listens on the port itself,
     * SO_REUSEPORT, and the kernel spreads the connections: the primary does no work per
     * connection) or `primary` (node:cluster's round-robin: the primary accepts each connection and
     * hands it to the next worker). See docs/gateway.md "Workers".
     */
    GATEHOUSE_GATEWAY_BALANCE: z.enum(['kernel', 'primary']).default('kernel'),
    /** Trust X-Forwarded-For (appended to) and X-Forwarded-Proto from the peer (only behind a proxy you run). */
    GATEHOUSE_TRUST_PROXY: z
      .enum(['true', 'false'])
      .default('false')
      .transform((v) => v === 'true'),
    /** Secure flag on CF_Authorization; defaults to true when the team URL is https. */
    GATEHOUSE_COOKIE_SECURE: z.enum(['true', 'false']).optional(),
    /** The management port (/metrics, /healthz, /readyz): keep it off the internet. 0 picks a free port. */
    GATEHOUSE_MANAGEMENT_HOST: z.string().min(1).default('127.0.0.1'),
    GATEHOUSE_GATEWAY_MANAGEMENT_PORT: z.coerce.number().int().min(0).max(65535).default(9462),
    /** json (one object a line) or pretty (plain text lines, no colours); default: json unless stdout is a terminal. */
    GATEHOUSE_LOG_FORMAT: z.enum(['json', 'pretty']).optional(),
    GATEHOUSE_LOG_LEVEL: z.enum(['error', 'warn', 'log', 'debug']).default('log'),
  })
  .superRefine(checkNatsEnv)
  .transform((env) => {
    const teamUrl = (env.GATEHOUSE_TEAM_URL ?? `http://127.0.0.1:${env.GATEHOUSE_GATEWAY_PORT}`).replace(/\/+$/, '');
    return {
      ...env,
      GATEHOUSE_TEAM_URL: teamUrl,
      cookieSecure: env.GATEHOUSE_COOKIE_SECURE ? env.GATEHOUSE_COOKIE_SECURE === 'true' : teamUrl.startsWith('https:'),
    };
  });
export type AuthServiceEnv = z.infer<typeof Env>;
export const AUTH_SERVICE_ENV = Symbol('AUTH_SERVICE_ENV');

/** Parses the environment once at boot; throws listing every bad key (never a secret's value). */
export function loadEnv(source: Record<string, string | undefined> = process.env): AuthServiceEnv {
  return parseEnv(Env, 'auth-service', source);
}
