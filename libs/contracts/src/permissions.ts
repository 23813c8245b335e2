import { GetAccount, ListAccounts } from './accounts.js';
import { ACCESS_LOG_STREAM, AccessDecisionsRecorded } from './audit.js';
import { allContracts, type EventContract, type RpcContract } from './rpc.js';

/**
 * Who may use each NATS subject. Every subject in the contracts has an owner — the service that
 * answers it (request/reply) or publishes it (event) — and a list of the services that may call or
 * subscribe to it. From this one table come the NATS server's permissions for each service's
 * user (`natsPermissions`, `natsAuthorizationConfig`): with them, only the token service can
 * answer `tokens.v1.create` or publish `tokens.v1.*` facts, the gateway can read what it replicates
 * and publish only its access log, and no service can read another's replies.
 */
export const SERVICES = ['api', 'token-service', 'auth-service', 'notification-service'] as const;
export type ServiceName = (typeof SERVICES)[number];

export interface SubjectAccess {
  /** rpc: the service that answers; event: the service that publishes. */
  owner: ServiceName;
  /** rpc: the services that may call; event: the services that may subscribe. */
  users: readonly ServiceName[];
}

/** The default access of each domain (the subject's first token), by kind. */
const DOMAINS: Record<string, { rpc?: SubjectAccess; event?: SubjectAccess }> = {
  accounts: { rpc: { owner: 'token-service', users: ['api'] } },
  tokens: { rpc: { owner: 'token-service', users: ['api'] }, event: { owner: 'token-service', users: ['auth-service', 'notification-service'] } },
  apps: { rpc: { owner: 'token-service', users: ['api'] }, event: { owner: 'token-service', users: ['auth-service'] } },
  policies: { rpc: { owner: 'token-service', users: ['api'] }, event: { owner: 'token-service', users: ['auth-service'] } },
  audit: { rpc: { owner: 'token-service', users: ['api'] } },
  // The change feed (replica.v3.changes, replica.v2.head; replica.v2.changes for 0.2 replicas): the gateway and the notifier follow it.
  replica: { rpc: { owner: 'token-service', users: ['auth-service', 'notification-service'] } },
  alerts: { rpc: { owner: 'notification-service', users: ['api'] } },
  organizations: { rpc: { owner: 'token-service', users: ['api'] }, event: { owner: 'token-service', users: ['auth-service'] } },
  // The signing keys live with the gateways (their own table); the API reads and rotates them.
  keys: { rpc: { owner: 'auth-service', users: ['api'] } },
  // Facts the gateway publishes (token use).
  gateway: { event: { owner: 'auth-service', users: ['token-service'] } },
};

/** Subjects whose access differs from their domain's. */
const EXCEPTIONS = new Map<string, SubjectAccess>([
  [ListAccounts.subject, { owner: 'token-service', users: ['api', 'notification-service'] }],
  [GetAccount.subject, { owner: 'token-service', users: ['api', 'notification-service'] }],
  // Into the JetStream stream; the token service reads it through its durable consumer.
  [AccessDecisionsRecorded.subject, { owner: 'auth-service', users: [] }],
]);

/** The access of one contract, or undefined when nobody declared it (a test forbids that). */
export function accessOf(contract: RpcContract | EventContract): SubjectAccess | undefined {
  return EXCEPTIONS.get(contract.subject) ?? DOMAINS[contract.subject.split('.')[0]!]?.[contract.kind];
}

/** The reply-inbox prefix of a service: the server lets it subscribe there, and to no other inbox. */
export function inboxPrefixOf(service: string): string {
  return `_INBOX_${service.replace(/[^A-Za-z0-9_-]/g, '_')}`;
}

export interface NatsPermissions {
  publish: string[];
  subscribe: string[];
}

/** JetStream API subjects each service needs for the access-log stream (and nothing wider). */
function jetStreamSubjects(service: ServiceName): string[] {
  const stream = ACCESS_LOG_STREAM.name;
  const manage = ['$JS.API.INFO', `$JS.API.STREAM.INFO.${stream}`, `$JS.API.STREAM.CREATE.${stream}`];
  if (service === 'auth-service') return manage;
  if (service === 'token-service') {
    return [
      ...manage,
      `$JS.API.CONSUMER.INFO.${stream}.*`,
      `$JS.API.CONSUMER.CREATE.${stream}.>`,
      `$JS.API.CONSUMER.DURABLE.CREATE.${stream}.*`,
      `$JS.API.CONSUMER.MSG.NEXT.${stream}.*`,
      `$JS.ACK.${stream}.>`,
    ];
  }
  return [];
}

/**
 * What one service's NATS user may publish and subscribe to. Answering requests also needs the
 * server's `allow_responses` (set by natsAuthorizationConfig for services that own an rpc).
 */
export function natsPermissions(service: ServiceName, inboxPrefix = inboxPrefixOf(service)): NatsPermissions {
  const publish = new Set<string>(jetStreamSubjects(service));
  const subscribe = new Set<string>([`${inboxPrefix}.>`]);
  for (const c of allContracts()) {
    const access = accessOf(c);
    if (!access) throw new Error(`No access declared for ${c.subject} (libs/contracts/src/permissions.ts)`);
    const isOwner = access.owner === service;
    const isUser = access.users.includes(service);
    if (c.kind === 'rpc') {
      if (isOwner) subscribe.add(c.subject);
      if (isUser) publish.add(c.subject);
    } else {
      if (isOwner) publish.add(c.subject);
      if (isUser) subscribe.add(c.subject);
    }
  }
  return { publish: [...publish].sort(), subscribe: [...subscribe].sort() };
}

/** True when the service answers at least one request (its user needs `allow_responses`). */
export function answersRequests(service: ServiceName): boolean {
  return allContracts().some((c) => c.kind === 'rpc' && accessOf(c)?.owner === service);
}

/**
 * The `authorization { users = [...] }` block of a nats-server configuration: one user per
 * service with its permissions. `password` is a value, or a `$VARIABLE` reference that
 * nats-server reads from its environment (the committed infra/ files use those).
 */
export function natsAuthorizationConfig(users: ReadonlyArray<{ service: ServiceName; user?: string; password: string }>): string {
  const list = (items: string[]) => `[${items.map((s) => JSON.stringify(s)).join(', ')}]`;
  const secret = (p: string) => (/^\$[A-Z_][A-Z0-9_]*$/.test(p) ? p : JSON.stringify(p));
  const lines = ['authorization {', '  users = ['];
  for (const u of users) {
    const perms = natsPermissions(u.service);
    lines.push(
      `    { user: ${JSON.stringify(u.user ?? u.service)}, password: ${secret(u.password)}, permissions: {`,
      `        publish: { allow: ${list(perms.publish)} },`,
      `        subscribe: { allow: ${list(perms.subscribe)} }${answersRequests(u.service) ? ',' : ''}`,
      ...(answersRequests(u.service) ? ['        allow_responses: true'] : []),
      '    } }',
    );
  }
  lines.push('  ]', '}');
  return `${lines.join('\n')}\n`;
}

/** The environment variable holding a service's NATS password in the deployment files (infra/). */
export function natsPasswordVariable(service: ServiceName): string {
  return `NATS_PASSWORD_${service.toUpperCase().replace(/-/g, '_')}`;
}

/**
 * infra/nats/authorization.conf: every service's user, its password read by nats-server from
 * the environment (`natsPasswordVariable`). Regenerate with `npm run nats:authorization` whenever
 * a contract is added; a test fails while the committed file differs.
 */
export function deploymentAuthorizationConfig(): string {
  const header = '# Generated from libs/contracts/src/permissions.ts by `npm run nats:authorization`; do not edit.\n';
  return header + natsAuthorizationConfig(SERVICES.map((service) => ({ service, password: `$${natsPasswordVariable(service)}` })));
}
