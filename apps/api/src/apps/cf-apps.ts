import { AppDomain, AppName, DomainError, HeaderName, SessionDuration, Uuid, UpstreamUrl, type Application, type Policy, type PolicyRule } from '@gatehouse/contracts';
import { z } from 'zod';

/** Cloudflare v4 field names of an Access application (self-hosted; Service Auth only). */
export function toCfApp(a: Application) {
  return {
    id: a.id,
    name: a.name,
    domain: a.domain,
    type: a.type,
    session_duration: a.sessionDuration,
    aud: a.aud,
    upstream: a.upstream,
    read_service_tokens_from_header: a.readServiceTokensFromHeader,
    sessions_revoked_at: a.sessionsRevokedAt,
    created_at: a.createdAt,
    updated_at: a.updatedAt,
  };
}

/** PUT replaces name and domain; an omitted optional field keeps its value, `null` clears it. */
export const AppBody = z.strictObject({
  name: AppName,
  domain: AppDomain,
  type: z.literal('self_hosted', { message: 'only "self_hosted" applications are supported' }).optional(),
  session_duration: SessionDuration.optional(),
  upstream: UpstreamUrl.nullable().optional(),
  read_service_tokens_from_header: HeaderName.nullable().optional(),
});
export type AppBody = z.infer<typeof AppBody>;

export function appFields(b: AppBody) {
  return {
    name: b.name,
    domain: b.domain,
    type: b.type ?? ('self_hosted' as const),
    sessionDuration: b.session_duration,
    upstream: b.upstream,
    readServiceTokensFromHeader: b.read_service_tokens_from_header,
  };
}

const RULE_FORMS = 'must be {"service_token":{"token_id":"<uuid>"}} or {"any_valid_service_token":{}} (Gatehouse has Service Auth rules only)';

/** A rule as Cloudflare writes it. Exactly one key. */
export const CfRule = z
  .strictObject({
    service_token: z.strictObject({ token_id: Uuid }).optional(),
    any_valid_service_token: z.strictObject({}).optional(),
  })
  .refine((r) => (r.service_token ? 1 : 0) + (r.any_valid_service_token ? 1 : 0) === 1, { message: RULE_FORMS });
export type CfRule = z.infer<typeof CfRule>;

const CfRules = z.array(CfRule).max(100, 'must have at most 100 rules');

export const PolicyBody = z.strictObject({
  name: AppName,
  decision: z.literal('non_identity', { message: 'only "non_identity" (Service Auth) policies are supported' }),
  precedence: z.number().int().min(1).max(10_000).optional(),
  include: CfRules.min(1, 'must name at least one rule'),
  require: CfRules.optional(),
  exclude: CfRules.optional(),
});
export type PolicyBody = z.infer<typeof PolicyBody>;

export const toRule = (r: CfRule): PolicyRule => (r.service_token ? { serviceToken: { tokenId: r.service_token.token_id } } : { anyValidServiceToken: {} });
export const toCfRule = (r: PolicyRule) => ('serviceToken' in r ? { service_token: { token_id: r.serviceToken.tokenId } } : { any_valid_service_token: {} });

export function policyFields(b: PolicyBody) {
  return {
    name: b.name,
    decision: b.decision,
    precedence: b.precedence,
    include: b.include.map(toRule),
    require: b.require?.map(toRule),
    exclude: b.exclude?.map(toRule),
  };
}

export function toCfPolicy(p: Policy) {
  return {
    id: p.id,
    name: p.name,
    decision: p.decision,
    precedence: p.precedence,
    include: p.include.map(toCfRule),
    require: p.require.map(toCfRule),
    exclude: p.exclude.map(toCfRule),
    created_at: p.createdAt,
    updated_at: p.updatedAt,
  };
}

const cfPath = (text: string) => text.replaceAll('serviceToken.tokenId', 'service_token.token_id');

/** The token service names rules in camelCase (`include.0.serviceToken.tokenId`); the API speaks snake_case. */
export async function withCfPaths<T>(call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (error) {
    if (error instanceof DomainError && error.code === 'VALIDATION_FAILED') {
      throw new DomainError(error.code, cfPath(error.message), error.details?.map((d) => ({ path: cfPath(d.path), message: d.message })), error.errorId);
    }
    throw error;
  }
}
