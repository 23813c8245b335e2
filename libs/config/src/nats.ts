import { readFileSync } from 'node:fs';
import { inboxPrefixOf } from '@gatehouse/contracts';
import { credsAuthenticator, type NodeConnectionOptions } from '@nats-io/transport-node';
import { z } from 'zod';

/**
 * How a service connects to NATS, the same keys in every service's env schema (spread
 * `NatsEnv` into it). Each service has credentials of its own: a user and password, or an nkey
 * `.creds` file; the server's permissions then allow it only its own subjects
 * (`natsPermissions` in @gatehouse/contracts). TLS when a CA (and optionally a client
 * certificate) is given, or when the URL is `tls://`.
 */
export const NatsEnv = {
  NATS_URL: z.string().min(1, 'must name a NATS server, e.g. nats://127.0.0.1:4222'),
  GATEHOUSE_NATS_USER: z.string().min(1).optional(),
  GATEHOUSE_NATS_PASSWORD: z.string().min(1).optional(),
  /** An nkey/JWT credentials file (`nsc generate creds`), instead of a user and password. */
  GATEHOUSE_NATS_CREDS: z.string().min(1).optional(),
  GATEHOUSE_NATS_TLS_CA: z.string().min(1).optional(),
  GATEHOUSE_NATS_TLS_CERT: z.string().min(1).optional(),
  GATEHOUSE_NATS_TLS_KEY: z.string().min(1).optional(),
};

type NatsEnvValues = { [K in keyof typeof NatsEnv]: z.infer<(typeof NatsEnv)[K]> };

/** What a NATS connection needs besides its servers and name (a plain value, safe to pass around). */
export interface NatsAuth {
  /** The service connecting: its replies come to `_INBOX_<service>.…` (see natsConnectionOptions). */
  service: string;
  user?: string;
  pass?: string;
  credsFile?: string;
  tls?: { caFile?: string; certFile?: string; keyFile?: string };
}

/** Refinement for an env schema that spreads NatsEnv: the keys that only work together. */
export function checkNatsEnv(env: Partial<NatsEnvValues>, ctx: z.RefinementCtx): void {
  const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
  if (env.GATEHOUSE_NATS_USER && !env.GATEHOUSE_NATS_PASSWORD) issue('GATEHOUSE_NATS_PASSWORD', 'required with GATEHOUSE_NATS_USER');
  if (env.GATEHOUSE_NATS_PASSWORD && !env.GATEHOUSE_NATS_USER) issue('GATEHOUSE_NATS_USER', 'required with GATEHOUSE_NATS_PASSWORD');
  if (env.GATEHOUSE_NATS_CREDS && env.GATEHOUSE_NATS_USER) issue('GATEHOUSE_NATS_CREDS', 'give a credentials file or a user and password, not both');
  if (Boolean(env.GATEHOUSE_NATS_TLS_CERT) !== Boolean(env.GATEHOUSE_NATS_TLS_KEY))
    issue('GATEHOUSE_NATS_TLS_KEY', 'GATEHOUSE_NATS_TLS_CERT and GATEHOUSE_NATS_TLS_KEY go together');
}

export function natsAuth(env: Partial<NatsEnvValues>, service: string): NatsAuth {
  const auth: NatsAuth = { service };
  if (env.GATEHOUSE_NATS_USER) {
    auth.user = env.GATEHOUSE_NATS_USER;
    auth.pass = env.GATEHOUSE_NATS_PASSWORD;
  }
  if (env.GATEHOUSE_NATS_CREDS) auth.credsFile = env.GATEHOUSE_NATS_CREDS;
  if (env.GATEHOUSE_NATS_TLS_CA || env.GATEHOUSE_NATS_TLS_CERT) {
    auth.tls = { caFile: env.GATEHOUSE_NATS_TLS_CA, certFile: env.GATEHOUSE_NATS_TLS_CERT, keyFile: env.GATEHOUSE_NATS_TLS_KEY };
  }
  return auth;
}

/**
 * The connection options of a NatsAuth, for `connect()` of @nats-io/transport-node and for
 * @nestjs/microservices' NATS transport (which passes them through). Replies come to an inbox
 * named after the user (`_INBOX_<user>.…`), so the server can let each service read only its own
 * replies: a shared `_INBOX.>` would let one service read another's (a new client secret, say).
 */
export function natsConnectionOptions(auth: NatsAuth): Partial<NodeConnectionOptions> {
  const options: Partial<NodeConnectionOptions> = { inboxPrefix: inboxPrefixOf(auth.service) };
  if (auth.user) {
    options.user = auth.user;
    options.pass = auth.pass;
  }
  if (auth.credsFile) options.authenticator = credsAuthenticator(readFileSync(auth.credsFile));
  if (auth.tls) options.tls = Object.fromEntries(Object.entries(auth.tls).filter(([, v]) => v));
  return options;
}
