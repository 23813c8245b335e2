import type { Application, Policy, PolicyRule } from '@gatehouse/contracts';

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
  createdAt: Date;
  updatedAt: Date;
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

export function toApplication(a: ApplicationRecord): Application {
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
