import {
  AppDomain,
  AppName,
  AppTag,
  DomainError,
  HeaderName,
  IsoDate,
  SameSiteAttribute,
  SessionDuration,
  Uuid,
  UpstreamUrl,
  type Application,
  type LinkedPolicy,
  type Policy,
  type PolicyRule,
  type ReusablePolicy,
} from '@gatehouse/contracts';
import { z } from 'zod';

/** A rule in an answer: exactly one of Cloudflare's Service Auth rule forms. */
const CfRuleResult = z
  .union([z.object({ service_token: z.object({ token_id: Uuid }) }), z.object({ any_valid_service_token: z.object({}) })])
  .meta({ id: 'PolicyRule' });
const rules = { include: z.array(CfRuleResult), require: z.array(CfRuleResult), exclude: z.array(CfRuleResult) };
const policyCommon = { id: Uuid, name: z.string(), decision: z.literal('non_identity'), ...rules };

/** A reusable policy as an application links it (`precedence` is the link's). */
export const CfLinkedPolicy = z
  .object({
    ...policyCommon,
    precedence: z.number().int(),
    session_duration: z.string().nullable(),
    reusable: z.literal(true),
    created_at: IsoDate,
    updated_at: IsoDate,
  })
  .meta({ id: 'LinkedPolicy' });

/** An Access application (self-hosted; Service Auth only) in Cloudflare's v4 field names. */
export const CfApp = z
  .object({
    id: Uuid,
    name: z.string(),
    domain: z.string(),
    destinations: z.array(z.object({ type: z.literal('public'), uri: z.string() })),
    type: z.literal('self_hosted'),
    session_duration: z.string(),
    aud: z.string(),
    upstream: z.string().nullable(),
    read_service_tokens_from_header: z.string().nullable(),
    sessions_revoked_at: IsoDate.nullable(),
    http_only_cookie_attribute: z.boolean(),
    same_site_cookie_attribute: z.enum(SameSiteAttribute.options).nullable(),
    path_cookie_attribute: z.boolean(),
    service_auth_401_redirect: z.boolean(),
    tags: z.array(z.string()),
    app_launcher_visible: z.boolean(),
    policies: z.array(CfLinkedPolicy),
    created_at: IsoDate,
    updated_at: IsoDate,
  })
  .meta({ id: 'AccessApp' });

/** An application's own (app-scoped) Service Auth policy. */
export const CfPolicy = z.object({ ...policyCommon, precedence: z.number().int(), created_at: IsoDate, updated_at: IsoDate }).meta({ id: 'AccessPolicy' });

/** A reusable (account-level) policy; `apps` is Gatehouse's list of the applications linking it. */
export const CfReusablePolicy = z
  .object({
    ...policyCommon,
    session_duration: z.string().nullable(),
    reusable: z.literal(true),
    app_count: z.number().int(),
    apps: z.array(z.object({ id: Uuid, name: z.string(), precedence: z.number().int() })),
    created_at: IsoDate,
    updated_at: IsoDate,
  })
  .meta({ id: 'ReusablePolicy' });

/** A policy naming a service token: an app-scoped one with its app, or a reusable one (no app). */
export const CfTokenPolicy = z
  .union([CfPolicy.extend({ app_id: Uuid, app_name: z.string() }), CfReusablePolicy.extend({ app_id: z.null(), app_name: z.null() })])
  .meta({ id: 'TokenPolicy' });

export function toCfApp(a: Application): z.infer<typeof CfApp> {
  return {
    id: a.id,
    name: a.name,
    domain: a.domain,
    /** Derived from `domain`: Gatehouse routes one public destination per application. */
    destinations: [{ type: 'public' as const, uri: a.domain }],
    type: a.type,
    session_duration: a.sessionDuration,
    aud: a.aud,
    upstream: a.upstream,
    read_service_tokens_from_header: a.readServiceTokensFromHeader,
    sessions_revoked_at: a.sessionsRevokedAt,
    http_only_cookie_attribute: a.httpOnlyCookieAttribute,
    same_site_cookie_attribute: a.sameSiteCookieAttribute,
    path_cookie_attribute: a.pathCookieAttribute,
    service_auth_401_redirect: a.serviceAuth401Redirect,
    tags: a.tags,
    app_launcher_visible: a.appLauncherVisible,
    /** The linked reusable policies, in precedence order (app-scoped ones: `…/apps/{id}/policies`). */
    policies: a.linkedPolicies.map(toCfLinkedPolicy),
    created_at: a.createdAt,
    updated_at: a.updatedAt,
  };
}

/** A link as Cloudflare accepts it: a policy id, or `{ id, precedence }` (precedence defaults to its position). */
const PolicyLink = z.union([Uuid, z.strictObject({ id: Uuid, precedence: z.number().int().min(1).max(10_000).optional() })], {
  message: 'must be a reusable policy id or {"id": "<uuid>", "precedence": <n>}',
});

const PublicDestination = z.strictObject({
  type: z.literal('public', { message: 'only "public" destinations are supported' }),
  uri: AppDomain,
});

/**
 * PUT replaces name and domain; an omitted optional field keeps its value, `null` clears it.
 * `destinations` (one public destination) is an alternative to `domain`.
 */
export const AppBody = z
  .strictObject({
    name: AppName,
    domain: AppDomain.optional(),
    destinations: z
      .array(PublicDestination)
      .min(1, 'must name one public destination')
      .max(1, 'Gatehouse routes one destination per application (create one application per host)')
      .optional(),
    type: z.literal('self_hosted', { message: 'only "self_hosted" applications are supported' }).optional(),
    session_duration: SessionDuration.optional(),
    upstream: UpstreamUrl.nullable().optional(),
    read_service_tokens_from_header: HeaderName.nullable().optional(),
    http_only_cookie_attribute: z.boolean().optional(),
    same_site_cookie_attribute: SameSiteAttribute.nullable().optional(),
    path_cookie_attribute: z.boolean().optional(),
    service_auth_401_redirect: z.boolean().optional(),
    tags: z.array(AppTag).max(100, 'must have at most 100 tags').optional(),
    app_launcher_visible: z.boolean().optional(),
    policies: z.array(PolicyLink).max(100, 'must link at most 100 policies').optional(),
  })
  .superRefine((b, ctx) => {
    const uri = b.destinations?.[0]?.uri;
    if (b.domain === undefined && uri === undefined)
      ctx.addIssue({ code: 'custom', path: ['domain'], message: 'is required (or give "destinations": [{"type": "public", "uri": …}])' });
    if (b.domain !== undefined && uri !== undefined && b.domain !== uri) {
      ctx.addIssue({ code: 'custom', path: ['destinations', 0, 'uri'], message: `must equal domain ("${b.domain}") when both are given` });
    }
  });
export type AppBody = z.infer<typeof AppBody>;

export function appFields(b: AppBody) {
  return {
    name: b.name,
    domain: (b.domain ?? b.destinations?.[0]?.uri)!,
    type: b.type ?? ('self_hosted' as const),
    sessionDuration: b.session_duration,
    upstream: b.upstream,
    readServiceTokensFromHeader: b.read_service_tokens_from_header,
    httpOnlyCookieAttribute: b.http_only_cookie_attribute,
    sameSiteCookieAttribute: b.same_site_cookie_attribute,
    pathCookieAttribute: b.path_cookie_attribute,
    serviceAuth401Redirect: b.service_auth_401_redirect,
    tags: b.tags,
    appLauncherVisible: b.app_launcher_visible,
    policies: b.policies?.map((l, i) => (typeof l === 'string' ? { id: l, precedence: i + 1 } : { id: l.id, precedence: l.precedence ?? i + 1 })),
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

/** What an app-scoped and a reusable policy body have in common: a name, Service Auth, and rules. */
const policyIdentity = {
  name: AppName,
  decision: z.literal('non_identity', { message: 'only "non_identity" (Service Auth) policies are supported' }),
};
const policyRules = { include: CfRules.min(1, 'must name at least one rule'), require: CfRules.optional(), exclude: CfRules.optional() };
const ruleFields = (b: { include: CfRule[]; require?: CfRule[]; exclude?: CfRule[] }) => ({
  include: b.include.map(toRule),
  require: b.require?.map(toRule),
  exclude: b.exclude?.map(toRule),
});

export const PolicyBody = z.strictObject({ ...policyIdentity, precedence: z.number().int().min(1).max(10_000).optional(), ...policyRules });
export type PolicyBody = z.infer<typeof PolicyBody>;

export const toRule = (r: CfRule): PolicyRule => (r.service_token ? { serviceToken: { tokenId: r.service_token.token_id } } : { anyValidServiceToken: {} });
export const toCfRule = (r: PolicyRule): z.infer<typeof CfRuleResult> =>
  'serviceToken' in r ? { service_token: { token_id: r.serviceToken.tokenId } } : { any_valid_service_token: {} };

export function policyFields(b: PolicyBody) {
  return { name: b.name, decision: b.decision, precedence: b.precedence, ...ruleFields(b) };
}

export function toCfPolicy(p: Policy): z.infer<typeof CfPolicy> {
  return {
    id: p.id,
    name: p.name,
    decision: p.decision,
    precedence: p.precedence,
    ...cfRules(p),
    created_at: p.createdAt,
    updated_at: p.updatedAt,
  };
}

/** A reusable policy body (Cloudflare's `access/policies`). PUT: omitted require, exclude, session_duration keep their value; null clears session_duration. */
export const ReusablePolicyBody = z.strictObject({ ...policyIdentity, ...policyRules, session_duration: SessionDuration.nullable().optional() });
export type ReusablePolicyBody = z.infer<typeof ReusablePolicyBody>;

export function reusablePolicyFields(b: ReusablePolicyBody) {
  return { name: b.name, decision: b.decision, ...ruleFields(b), sessionDuration: b.session_duration };
}

const cfRules = (p: Pick<LinkedPolicy, 'include' | 'require' | 'exclude'>) => ({
  include: p.include.map(toCfRule),
  require: p.require.map(toCfRule),
  exclude: p.exclude.map(toCfRule),
});

export function toCfReusablePolicy(p: ReusablePolicy): z.infer<typeof CfReusablePolicy> {
  return {
    id: p.id,
    name: p.name,
    decision: p.decision,
    ...cfRules(p),
    session_duration: p.sessionDuration,
    reusable: true as const,
    app_count: p.apps.length,
    /** Gatehouse extension: the applications linking the policy. */
    apps: p.apps.map((a) => ({ id: a.id, name: a.name, precedence: a.precedence })),
    created_at: p.createdAt,
    updated_at: p.updatedAt,
  };
}

function toCfLinkedPolicy(p: LinkedPolicy): z.infer<typeof CfLinkedPolicy> {
  return {
    id: p.id,
    name: p.name,
    decision: p.decision,
    precedence: p.precedence,
    ...cfRules(p),
    session_duration: p.sessionDuration,
    reusable: true as const,
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
      throw new DomainError(
        error.code,
        cfPath(error.message),
        error.details?.map((d) => ({ path: cfPath(d.path), message: d.message })),
        error.errorId,
      );
    }
    throw error;
  }
}
