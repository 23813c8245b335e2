import type { Application, LinkedPolicy, Policy, PolicyRule, ReusablePolicy } from '@gatehouse/contracts';

/** An access application as the domain holds it (the stored form). */
export interface ApplicationRecord {
  id: string;
  accountId: string;
  name: string;
  domain: string;
  type: 'self_hosted';
  sessionDuration: string;
  aud: string;
  upstream: string | null;
  readServiceTokensFromHeader: string | null;
  sessionsRevokedAt: Date | null;
  httpOnlyCookieAttribute: boolean;
  sameSiteCookieAttribute: 'strict' | 'lax' | 'none' | null;
  pathCookieAttribute: boolean;
  serviceAuth401Redirect: boolean;
  tags: string[];
  appLauncherVisible: boolean;
  createdAt: Date;
  updatedAt: Date;
}

/** An application with its linked reusable policies, resolved, in precedence order (as read). */
export interface LinkedApplicationRecord extends ApplicationRecord {
  linkedPolicies: LinkedPolicyRecord[];
}

/** A reusable (account-level) Service Auth policy as stored. */
export interface ReusablePolicyRecord {
  id: string;
  accountId: string;
  name: string;
  decision: 'non_identity';
  include: PolicyRule[];
  require: PolicyRule[];
  exclude: PolicyRule[];
  sessionDuration: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/** A reusable policy as one application links it: the link's precedence. */
export interface LinkedPolicyRecord extends ReusablePolicyRecord {
  precedence: number;
}

/** An application linking a reusable policy. */
export interface PolicyUser {
  id: string;
  name: string;
  precedence: number;
}

/** A Service Auth policy as the domain holds it; rules in the contract's camelCase form. */
export interface PolicyRecord {
  id: string;
  accountId: string;
  appId: string;
  name: string;
  decision: 'non_identity';
  precedence: number;
  include: PolicyRule[];
  require: PolicyRule[];
  exclude: PolicyRule[];
  createdAt: Date;
  updatedAt: Date;
}

export const DEFAULT_SESSION_DURATION = '24h';

export function toApplication(a: LinkedApplicationRecord): Application {
  return {
    id: a.id,
    accountId: a.accountId,
    name: a.name,
    domain: a.domain,
    type: a.type,
    sessionDuration: a.sessionDuration,
    aud: a.aud,
    upstream: a.upstream,
    readServiceTokensFromHeader: a.readServiceTokensFromHeader,
    sessionsRevokedAt: a.sessionsRevokedAt ? a.sessionsRevokedAt.toISOString() : null,
    httpOnlyCookieAttribute: a.httpOnlyCookieAttribute,
    sameSiteCookieAttribute: a.sameSiteCookieAttribute,
    pathCookieAttribute: a.pathCookieAttribute,
    serviceAuth401Redirect: a.serviceAuth401Redirect,
    tags: a.tags,
    appLauncherVisible: a.appLauncherVisible,
    linkedPolicies: a.linkedPolicies.map(toLinkedPolicy),
    createdAt: a.createdAt.toISOString(),
    updatedAt: a.updatedAt.toISOString(),
  };
}

export function toPolicy(p: PolicyRecord): Policy {
  return {
    id: p.id,
    accountId: p.accountId,
    appId: p.appId,
    name: p.name,
    decision: p.decision,
    precedence: p.precedence,
    include: p.include,
    require: p.require,
    exclude: p.exclude,
    createdAt: p.createdAt.toISOString(),
    updatedAt: p.updatedAt.toISOString(),
  };
}

export function toLinkedPolicy(p: LinkedPolicyRecord): LinkedPolicy {
  return {
    id: p.id,
    name: p.name,
    decision: p.decision,
    precedence: p.precedence,
    include: p.include,
    require: p.require,
    exclude: p.exclude,
    sessionDuration: p.sessionDuration,
    createdAt: p.createdAt.toISOString(),
    updatedAt: p.updatedAt.toISOString(),
  };
}

export function toReusablePolicy(p: ReusablePolicyRecord, apps: PolicyUser[]): ReusablePolicy {
  return {
    id: p.id,
    accountId: p.accountId,
    name: p.name,
    decision: p.decision,
    include: p.include,
    require: p.require,
    exclude: p.exclude,
    sessionDuration: p.sessionDuration,
    apps,
    createdAt: p.createdAt.toISOString(),
    updatedAt: p.updatedAt.toISOString(),
  };
}

/** The token ids a policy's rules name, with where each is (for error messages). */
export function namedTokens(rules: Pick<PolicyRecord, 'include' | 'require' | 'exclude'>): Array<{ path: string; tokenId: string }> {
  const out: Array<{ path: string; tokenId: string }> = [];
  for (const list of ['include', 'require', 'exclude'] as const) {
    rules[list].forEach((rule, i) => {
      if ('serviceToken' in rule) out.push({ path: `${list}.${i}.serviceToken.tokenId`, tokenId: rule.serviceToken.tokenId });
    });
  }
  return out;
}
