import { NatsEnv, checkNatsEnv, parseEnv } from '@gatehouse/config';
import { z } from 'zod';

const Ms = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const SmtpUrl = z.string().refine((s) => {
  try {
    const u = new URL(s);
    return (u.protocol === 'smtp:' || u.protocol === 'smtps:') && !!u.hostname;
  } catch {
    return false;
  }
}, 'must be an smtp:// or smtps:// URL, e.g. smtp://user:password@mail.example.com:587 (value not shown: it may hold a password)');

export const Env = z
  .object({
    DATABASE_URL: z.string().url('must be a postgres:// URL'),
    ...NatsEnv,
    /** Webhook signing secrets are stored encrypted under a key derived from this (never in the database). */
    GATEHOUSE_HASH_KEY: z.string().min(32, 'must be at least 32 characters (generate with: openssl rand -hex 32)'),
    /** Where alert emails go out; nodemailer upgrades to TLS with STARTTLS when the server offers it. */
    SMTP_URL: SmtpUrl,
    GATEHOUSE_MAIL_FROM: z.string().min(3).default('Gatehouse <gatehouse@localhost>'),
    /** Base URL of the admin API and dashboard, used in the "how to refresh" instructions. */
    GATEHOUSE_PUBLIC_URL: z.string().url('must be a URL such as https://gatehouse.example.com').default('http://127.0.0.1:8080'),
    /** How often the scheduler looks for due alerts (events also wake it at once). */
    GATEHOUSE_NOTIFY_TICK_MS: Ms(10, 3_600_000).default(5000),
    /** How long a claimed delivery is reserved for its sender; a crashed sender's deliveries are retried after it. */
    GATEHOUSE_NOTIFY_LEASE_MS: Ms(100, 3_600_000).default(120_000),
    GATEHOUSE_NOTIFY_RETRY_BASE_MS: Ms(10, 3_600_000).default(30_000),
    GATEHOUSE_NOTIFY_RETRY_MAX_MS: Ms(10, 86_400_000).default(3_600_000),
    GATEHOUSE_NOTIFY_MAX_ATTEMPTS: Ms(1, 1000).default(12),
    GATEHOUSE_NOTIFY_BATCH: Ms(1, 5000).default(200),
    /** Parallel SMTP connections (nodemailer pool) and parallel webhook requests. */
    GATEHOUSE_NOTIFY_CONCURRENCY: Ms(1, 100).default(8),
    /** How often an idle notifier asks the token service for its head revision (O(1)); a newer head makes it pull the token changes it missed. */
    GATEHOUSE_NOTIFY_RESYNC_MS: Ms(100, 86_400_000).default(60_000),
    GATEHOUSE_WEBHOOK_TIMEOUT_MS: Ms(100, 120_000).default(10_000),
    GATEHOUSE_NATS_QUEUE: z.string().min(1).default('notification-service'),
    /** The management port (/metrics, /healthz, /readyz): keep it off the internet. 0 picks a free port. */
    GATEHOUSE_MANAGEMENT_HOST: z.string().min(1).default('127.0.0.1'),
    GATEHOUSE_NOTIFICATION_SERVICE_MANAGEMENT_PORT: z.coerce.number().int().min(0).max(65535).default(9464),
    /** json (one object a line) or pretty (plain text lines, no colours); default: json unless stdout is a terminal. */
    GATEHOUSE_LOG_FORMAT: z.enum(['json', 'pretty']).optional(),
    GATEHOUSE_LOG_LEVEL: z.enum(['error', 'warn', 'log', 'debug']).default('log'),
  })
  .superRefine(checkNatsEnv);
export type NotificationEnv = z.infer<typeof Env>;
export const NOTIFICATION_ENV = Symbol('NOTIFICATION_ENV');

/** Parses the environment once at boot; throws listing every bad key (values are never shown). */
export function loadEnv(source: Record<string, string | undefined> = process.env): NotificationEnv {
  return parseEnv(Env, 'notification-service', source);
}

/** An SMTP URL with its credentials masked, for logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    if (u.username) u.username = '***';
    return u.toString();
  } catch {
    return '(unparseable URL)';
  }
}

/** SMTP user and password, as they appear in the URL and decoded: never stored in errors or logs. */
export function smtpSecrets(url: string): string[] {
  const u = new URL(url);
  return [u.password, decodeURIComponent(u.password), u.username, decodeURIComponent(u.username)].filter(Boolean);
}
