import { z } from 'zod';
import { Actor, IsoDate, PageRequest, Uuid, pageOf } from './common.js';
import { Duration } from './duration.js';
import { defineEvent, defineRpc, register } from './rpc.js';

/**
 * Access applications and their Service Auth policies. Owned by the token service (its tables);
 * replicated to the gateway (auth-service) by the revision-ordered change feed (replication.ts), like tokens.
 *
 * Rules of the data, for every replica:
 * - An app's `domain` is unique across all accounts (CONFLICT otherwise; the gateway routes by host); its `aud` is generated
 *   on create (64 hex characters) and never changes.
 * - Update requests: an optional field that is omitted keeps its current value; `null` clears a
 *   nullable one (`upstream`, `readServiceTokensFromHeader`). `precedence` omitted on create means
 *   "after the last policy of the app". Precedences need not be unique; ties order by creation.
 * - Deleting an app deletes its policies in the same transaction. The one `deleted` AppChanged
 *   event implies that: no PolicyChanged event is sent for those policies, and a replica drops
 *   an app's policies together with the app. (Each is still audited as `access_policy.deleted`.)
 * - Deleting a service token does NOT touch the policies that name it: the rule stays, dangling,
 *   and matches nothing (token ids are random UUIDs, never reused). So an include list that only
 *   names deleted tokens admits nobody, a dangling `require` rule admits nobody, and a dangling
 *   `exclude` rule excludes nobody. A replica must never drop or rewrite a dangling rule (dropping
 *   one from `require` would widen the policy). `policyAdmits` below is the reference evaluation.
 * - A rule may only name a token of the policy's own account when it is written (VALIDATION_FAILED
 *   naming the rule otherwise); a rule that the policy already had may stay dangling on update.
 * - An app has app-scoped policies (below) or links reusable ones (`linkedPolicies`, carried
 *   resolved in the app record; see reusable-policies.ts), never both. A replica evaluates a
 *   linked policy exactly like an app-scoped one, with the link's precedence.
 */

/** Host with an optional path prefix: `api.example.com` or `example.com/api`. Lower-case host, no scheme. */
export const AppDomain = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(253 + 1 + 1024, 'is too long')
  .transform((s) => s.toLowerCase().replace(/\/+$/, ''))
  .refine(
    (s) => /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*(?::\d{1,5})?(?:\/[A-Za-z0-9._~!$&'()*+,;=:@%-]+)*$/.test(s),
    'must be a host name with an optional path prefix, e.g. "api.example.com" or "example.com/api" (no scheme)',
  );

export const UpstreamUrl = z
  .string()
  .trim()
  .max(2048)
  .refine((s) => {
    try {
      const u = new URL(s);
      return (u.protocol === 'http:' || u.protocol === 'https:') && !u.username && !u.password;
    } catch {
      return false;
    }
  }, 'must be an http:// or https:// URL without credentials');

export const HeaderName = z
  .string()
  .trim()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9-]+$/, 'must be an HTTP header name');

/** How long a JWT issued for the app lives: a finite duration ("24h", "30m"); never "forever". */
export const SessionDuration = Duration.refine((d) => d !== 'forever', 'must be a finite duration such as "24h" or "30m" (sessions cannot be endless)');

export const AppName = z.string().trim().min(1, 'must not be empty').max(255, 'must be at most 255 characters');

/** A Service Auth rule: one named token, or any valid token of the account. */
export const PolicyRule = z.union([
  z.strictObject({ serviceToken: z.strictObject({ tokenId: Uuid }) }),
  z.strictObject({ anyValidServiceToken: z.strictObject({}) }),
]);
export type PolicyRule = z.infer<typeof PolicyRule>;

/** SameSite attribute of the gateway's `CF_Authorization` cookie (null: the default, Lax). */
export const SameSiteAttribute = z.enum(['strict', 'lax', 'none'], { message: 'must be "strict", "lax" or "none"' });
export const AppTag = z.string().trim().min(1, 'must not be empty').max(255, 'must be at most 255 characters');

/**
 * A reusable policy as an application links it, resolved: its rules travel with the app (in the
 * snapshot and in every AppChanged event), so a replica evaluates a linked policy without a
 * second lookup, and a change to a reusable policy is announced as an AppChanged event for each
 * application linking it. `precedence` is the link's (per application).
 */
export const LinkedPolicy = z.object({
  id: Uuid,
  name: z.string(),
  decision: z.literal('non_identity'),
  precedence: z.number().int(),
  include: z.array(PolicyRule),
  require: z.array(PolicyRule),
  exclude: z.array(PolicyRule),
  /** Overrides the app's session duration for JWTs this policy admits; null: the app's. */
  sessionDuration: z.string().nullable(),
  createdAt: IsoDate,
  updatedAt: IsoDate,
});
export type LinkedPolicy = z.infer<typeof LinkedPolicy>;

export const Application = z.object({
  id: Uuid,
  accountId: Uuid,
  name: z.string(),
  domain: z.string(),
  type: z.literal('self_hosted'),
  sessionDuration: z.string(),
  /** The audience tag: JWTs for this app carry it in `aud`. 64 hex characters, generated. */
  aud: z.string(),
  upstream: z.string().nullable(),
  /** Single-header mode: this header carries `{"cf-access-client-id":…,"cf-access-client-secret":…}`. */
  readServiceTokensFromHeader: z.string().nullable(),
  /** JWTs for this app issued before this instant are refused ("Revoke existing sessions"). */
  sessionsRevokedAt: IsoDate.nullable(),
  /** Cookie attributes of `CF_Authorization` as the gateway sets it (Cloudflare's defaults). */
  httpOnlyCookieAttribute: z.boolean().default(true),
  sameSiteCookieAttribute: SameSiteAttribute.nullable().default(null),
  /** True: the cookie's Path is the app's path prefix (else `/`). */
  pathCookieAttribute: z.boolean().default(false),
  /** True: a request refused by Service Auth gets 401, also when the token is valid but not admitted. */
  serviceAuth401Redirect: z.boolean().default(false),
  /** Stored and returned only (the App Launcher is Cloudflare's). */
  tags: z.array(z.string()).default([]),
  appLauncherVisible: z.boolean().default(true),
  /** Linked reusable policies in precedence order; never together with app-scoped policies. */
  linkedPolicies: z.array(LinkedPolicy).default([]),
  createdAt: IsoDate,
  updatedAt: IsoDate,
});
export type Application = z.infer<typeof Application>;

export const Policy = z.object({
  id: Uuid,
  accountId: Uuid,
  appId: Uuid,
  name: z.string(),
  /** Only Service Auth (`non_identity`) policies exist in Gatehouse. */
  decision: z.literal('non_identity'),
  precedence: z.number().int(),
  /** Admits when any include rule matches, every require rule matches and no exclude rule matches. An empty include admits nobody. */
  include: z.array(PolicyRule),
  require: z.array(PolicyRule),
  exclude: z.array(PolicyRule),
  createdAt: IsoDate,
  updatedAt: IsoDate,
});
export type Policy = z.infer<typeof Policy>;

const AppScoped = { accountId: Uuid, appId: Uuid };
const AppFields = {
  name: AppName,
  domain: AppDomain,
  type: z.literal('self_hosted').default('self_hosted'),
  sessionDuration: SessionDuration.optional(),
  upstream: UpstreamUrl.nullable().optional(),
  readServiceTokensFromHeader: HeaderName.nullable().optional(),
  httpOnlyCookieAttribute: z.boolean().optional(),
  sameSiteCookieAttribute: SameSiteAttribute.nullable().optional(),
  pathCookieAttribute: z.boolean().optional(),
  serviceAuth401Redirect: z.boolean().optional(),
  tags: z.array(AppTag).max(100, 'must have at most 100 tags').optional(),
  appLauncherVisible: z.boolean().optional(),
  /**
   * Reusable policies to link, replacing the current links (omitted: keep them; []: unlink all).
   * Ids unique, precedences unique; each a reusable policy of the account (VALIDATION_FAILED
   * naming `policies.N.id` otherwise). Refused while the app has app-scoped policies.
   */
  policies: z
    .array(z.strictObject({ id: Uuid, precedence: z.number().int().min(1).max(10_000) }))
    .max(100, 'must link at most 100 policies')
    .optional(),
};
const Rules = z.array(PolicyRule).max(100);
const PolicyFields = {
  name: AppName,
  decision: z.literal('non_identity', { message: 'only "non_identity" (Service Auth) policies are supported' }),
  precedence: z.number().int().min(1).max(10_000).optional(),
  include: Rules.min(1, 'must name at least one rule'),
  require: Rules.optional(),
  exclude: Rules.optional(),
};

export const CreateApplication = register(
  defineRpc({
    subject: 'apps.v1.create',
    request: z.strictObject({ accountId: Uuid, ...AppFields, actor: Actor }),
    response: Application,
    errors: ['NOT_FOUND', 'CONFLICT', 'VALIDATION_FAILED'],
  }),
);
export const ListApplications = register(
  defineRpc({
    subject: 'apps.v1.list',
    request: z.strictObject({ accountId: Uuid, ...PageRequest.shape }),
    response: pageOf(Application),
    errors: ['NOT_FOUND'],
  }),
);
export const GetApplication = register(defineRpc({ subject: 'apps.v1.get', request: z.strictObject(AppScoped), response: Application, errors: ['NOT_FOUND'] }));
export const UpdateApplication = register(
  defineRpc({
    subject: 'apps.v1.update',
    request: z.strictObject({ ...AppScoped, ...AppFields, actor: Actor }),
    response: Application,
    errors: ['NOT_FOUND', 'CONFLICT', 'VALIDATION_FAILED'],
  }),
);
export const DeleteApplication = register(
  defineRpc({ subject: 'apps.v1.delete', request: z.strictObject({ ...AppScoped, actor: Actor }), response: Application, errors: ['NOT_FOUND'] }),
);
/** "Revoke existing sessions": JWTs issued before now stop working; tokens can still exchange. */
export const RevokeApplicationSessions = register(
  defineRpc({ subject: 'apps.v1.revokeSessions', request: z.strictObject({ ...AppScoped, actor: Actor }), response: Application, errors: ['NOT_FOUND'] }),
);

const PolicyScoped = { ...AppScoped, policyId: Uuid };
export const CreatePolicy = register(
  defineRpc({
    subject: 'policies.v1.create',
    request: z.strictObject({ ...AppScoped, ...PolicyFields, actor: Actor }),
    response: Policy,
    errors: ['NOT_FOUND', 'VALIDATION_FAILED'],
  }),
);
export const ListPolicies = register(
  defineRpc({ subject: 'policies.v1.list', request: z.strictObject(AppScoped), response: z.array(Policy), errors: ['NOT_FOUND'] }),
);
export const GetPolicy = register(defineRpc({ subject: 'policies.v1.get', request: z.strictObject(PolicyScoped), response: Policy, errors: ['NOT_FOUND'] }));
export const UpdatePolicy = register(
  defineRpc({
    subject: 'policies.v1.update',
    request: z.strictObject({ ...PolicyScoped, ...PolicyFields, actor: Actor }),
    response: Policy,
    errors: ['NOT_FOUND', 'VALIDATION_FAILED'],
  }),
);
export const DeletePolicy = register(
  defineRpc({ subject: 'policies.v1.delete', request: z.strictObject({ ...PolicyScoped, actor: Actor }), response: Policy, errors: ['NOT_FOUND'] }),
);
/** Policies of an account that name a token (the dashboard's delete confirmation lists them). */
export const PoliciesUsingToken = register(
  defineRpc({
    subject: 'policies.v1.usingToken',
    request: z.strictObject({ accountId: Uuid, tokenId: Uuid }),
    response: z.array(Policy.extend({ appName: z.string() })),
    /** NOT_FOUND: no such account, or neither a token with this id nor a policy naming it. */
    errors: ['NOT_FOUND'],
  }),
);

export const AppChanged = z.object({
  kind: z.enum(['upserted', 'deleted']),
  revision: z.number().int(),
  occurredAt: IsoDate,
  app: Application,
});
export type AppChanged = z.infer<typeof AppChanged>;
export const PolicyChanged = z.object({
  kind: z.enum(['upserted', 'deleted']),
  revision: z.number().int(),
  occurredAt: IsoDate,
  policy: Policy,
});
export type PolicyChanged = z.infer<typeof PolicyChanged>;

/** Does `rule` match this (authenticated, valid) token? A dangling token rule matches nothing. */
export function ruleMatches(rule: PolicyRule, token: { id: string }): boolean {
  return 'anyValidServiceToken' in rule || rule.serviceToken.tokenId === token.id;
}

/**
 * Reference evaluation of one Service Auth policy for a token that has already been verified
 * (secret, expiry, enabled): any include rule, every require rule, no exclude rule, same account.
 * An empty include admits nobody.
 */
export function policyAdmits(policy: Pick<Policy, 'accountId' | 'include' | 'require' | 'exclude'>, token: { id: string; accountId: string }): boolean {
  if (policy.accountId !== token.accountId) return false;
  return (
    policy.include.some((r) => ruleMatches(r, token)) &&
    policy.require.every((r) => ruleMatches(r, token)) &&
    !policy.exclude.some((r) => ruleMatches(r, token))
  );
}

export const ApplicationChangedEvent = register(defineEvent({ subject: 'apps.v1.changed', payload: AppChanged }));
export const PolicyChangedEvent = register(defineEvent({ subject: 'policies.v1.changed', payload: PolicyChanged }));
