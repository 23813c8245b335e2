// Factories for unit tests (not built: tsconfig.build.json excludes *.fixture.ts).
import { randomUUID } from 'node:crypto';
import type { Application, Organization, Policy, VerifierToken } from '@gatehouse/contracts';
import type { Replica } from './replica.js';

const iso = (ms = Date.now()) => new Date(ms).toISOString();
const accountId = randomUUID();

export function tokenOf(over: Partial<VerifierToken> = {}): VerifierToken {
  return {
    id: randomUUID(),
    accountId,
    name: 'ci',
    clientId: `${randomUUID().replace(/-/g, '')}.access`,
    duration: '8760h',
    enabled: true,
    expiresAt: null,
    secretHash: 'a'.repeat(64),
    clientSecretVersion: 1,
    previousSecretHash: null,
    previousClientSecretExpiresAt: null,
    createdAt: iso(),
    updatedAt: iso(),
    ...over,
  };
}

export function appOf(over: Partial<Application> = {}): Application {
  return {
    id: randomUUID(),
    accountId,
    name: 'app',
    domain: 'app.example.com',
    type: 'self_hosted',
    sessionDuration: '24h',
    aud: randomUUID().replace(/-/g, '') + randomUUID().replace(/-/g, ''),
    upstream: 'http://127.0.0.1:1',
    readServiceTokensFromHeader: null,
    sessionsRevokedAt: null,
    httpOnlyCookieAttribute: true,
    sameSiteCookieAttribute: null,
    pathCookieAttribute: false,
    serviceAuth401Redirect: false,
    tags: [],
    appLauncherVisible: true,
    linkedPolicies: [],
    createdAt: iso(),
    updatedAt: iso(),
    ...over,
  };
}

export function policyOf(appId: string, over: Partial<Policy> = {}): Policy {
  return {
    id: randomUUID(),
    accountId,
    appId,
    name: 'p',
    decision: 'non_identity',
    precedence: 1,
    include: [{ anyValidServiceToken: {} }],
    require: [],
    exclude: [],
    createdAt: iso(),
    updatedAt: iso(),
    ...over,
  };
}

/** Loads a replica as a first pull would: every record at `revision`, then caught up. */
export function loadInto(
  replica: Replica,
  s: { revision: number; tokens: VerifierToken[]; apps: Application[]; policies: Policy[]; organizations?: Organization[] },
): void {
  const revision = s.revision;
  replica.apply([
    ...s.tokens.map((token) => ({ type: 'token' as const, revision, token })),
    ...s.apps.map((app) => ({ type: 'app' as const, revision, app })),
    ...s.policies.map((policy) => ({ type: 'policy' as const, revision, policy })),
    ...(s.organizations ?? []).map((organization) => ({ type: 'organization' as const, revision, organization })),
  ]);
  replica.caughtUp(revision);
}
