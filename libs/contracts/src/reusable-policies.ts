import { z } from 'zod';
import { PolicyRule, SessionDuration, AppName } from './apps.js';
import { Actor, IsoDate, PageRequest, Uuid, pageOf } from './common.js';
import { defineRpc, register } from './rpc.js';

/**
 * Reusable (account-level) Service Auth policies, linked from applications by id with a
 * per-application precedence (Cloudflare's `access/policies`). Owned by the token service.
 *
 * Rules of the data:
 * - An application links reusable policies or has app-scoped policies, never both
 *   (VALIDATION_FAILED on the write that would mix them).
 * - A reusable policy still linked from an application cannot be deleted (VALIDATION_FAILED
 *   naming the apps); the database refuses it too (the link's foreign key), so no app is ever left
 *   with a link to nothing.
 * - The gateway does not replicate reusable policies on their own: an app carries its linked
 *   policies resolved (`Application.linkedPolicies`), and a change to a reusable policy is
 *   announced as one AppChanged event per application linking it, in the policy's transaction.
 * - Rules follow the app-scoped ones (see apps.ts): a rule may only name a token of the account
 *   when written; a dangling rule matches nothing and is never dropped.
 */
export const ReusablePolicy = z.object({
  id: Uuid,
  accountId: Uuid,
  name: z.string(),
  decision: z.literal('non_identity'),
  include: z.array(PolicyRule),
  require: z.array(PolicyRule),
  exclude: z.array(PolicyRule),
  /** Overrides the session duration of the apps linking it, for JWTs this policy admits. */
  sessionDuration: z.string().nullable(),
  /** Applications linking the policy, by name (the dashboard lists them). */
  apps: z.array(z.object({ id: Uuid, name: z.string(), precedence: z.number().int() })),
  createdAt: IsoDate,
  updatedAt: IsoDate,
});
export type ReusablePolicy = z.infer<typeof ReusablePolicy>;

const Rules = z.array(PolicyRule).max(100);
const ReusablePolicyFields = {
  name: AppName,
  decision: z.literal('non_identity', { message: 'only "non_identity" (Service Auth) policies are supported' }),
  include: Rules.min(1, 'must name at least one rule'),
  require: Rules.optional(),
  exclude: Rules.optional(),
  /** Omitted on update: keeps its value; null clears (the app's duration applies). */
  sessionDuration: SessionDuration.nullable().optional(),
};
const Scoped = { accountId: Uuid, policyId: Uuid };

export const CreateReusablePolicy = register(
  defineRpc({
    subject: 'policies.v1.reusable.create',
    request: z.strictObject({ accountId: Uuid, ...ReusablePolicyFields, actor: Actor }),
    response: ReusablePolicy,
    errors: ['NOT_FOUND', 'VALIDATION_FAILED'],
  }),
);
export const ListReusablePolicies = register(
  defineRpc({
    subject: 'policies.v1.reusable.list',
    request: z.strictObject({ accountId: Uuid, ...PageRequest.shape }),
    response: pageOf(ReusablePolicy),
    errors: ['NOT_FOUND'],
  }),
);
export const GetReusablePolicy = register(
  defineRpc({ subject: 'policies.v1.reusable.get', request: z.strictObject(Scoped), response: ReusablePolicy, errors: ['NOT_FOUND'] }),
);
/** Replaces name, decision and include; omitted require, exclude, sessionDuration keep their value. */
export const UpdateReusablePolicy = register(
  defineRpc({
    subject: 'policies.v1.reusable.update',
    request: z.strictObject({ ...Scoped, ...ReusablePolicyFields, actor: Actor }),
    response: ReusablePolicy,
    errors: ['NOT_FOUND', 'VALIDATION_FAILED'],
  }),
);
/** VALIDATION_FAILED while applications link the policy (the message names them). */
export const DeleteReusablePolicy = register(
  defineRpc({
    subject: 'policies.v1.reusable.delete',
    request: z.strictObject({ ...Scoped, actor: Actor }),
    response: ReusablePolicy,
    errors: ['NOT_FOUND', 'VALIDATION_FAILED'],
  }),
);

/** Reusable policies of an account with a rule naming the token (the dashboard's delete confirmation lists them). */
export const ReusablePoliciesUsingToken = register(
  defineRpc({
    subject: 'policies.v1.reusable.usingToken',
    request: z.strictObject({ accountId: Uuid, tokenId: Uuid }),
    response: z.array(ReusablePolicy),
    errors: ['NOT_FOUND'],
  }),
);
