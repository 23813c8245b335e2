import { z } from 'zod';
import { Actor, IsoDate, PageRequest, Uuid, pageOf } from './common.js';
import { Duration } from './duration.js';
import { defineEvent, defineRpc, register } from './rpc.js';

export const TokenName = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(255, 'must be at most 255 characters')
  // eslint-disable-next-line no-control-regex -- control characters are what it refuses
  .refine((s) => !/[\u0000-\u001f\u007f]/.test(s), 'must not contain control characters');

/** A service token as the admin sees it. Never carries the secret or its hash. */
export const ServiceToken = z.object({
  id: Uuid,
  accountId: Uuid,
  name: z.string(),
  clientId: z.string(),
  duration: z.string(),
  createdAt: IsoDate,
  updatedAt: IsoDate,
  expiresAt: IsoDate.nullable(),
  lastSeenAt: IsoDate.nullable(),
  enabled: z.boolean(),
  clientSecretVersion: z.number().int(),
  previousClientSecretExpiresAt: IsoDate.nullable(),
});
export type ServiceToken = z.infer<typeof ServiceToken>;

/** Returned by create and rotate only: the one time the secret leaves the system. */
export const ServiceTokenWithSecret = ServiceToken.extend({ clientSecret: z.string() });
export type ServiceTokenWithSecret = z.infer<typeof ServiceTokenWithSecret>;

/**
 * What a verifier (the gateway) needs to check a credential: keyed hashes of the current and
 * previous secret, never a secret. The hashes are HMACs under a key that is not in the database.
 */
export const VerifierToken = z.object({
  id: Uuid,
  accountId: Uuid,
  name: z.string(),
  clientId: z.string(),
  duration: z.string(),
  enabled: z.boolean(),
  expiresAt: IsoDate.nullable(),
  secretHash: z.string(),
  clientSecretVersion: z.number().int(),
  previousSecretHash: z.string().nullable(),
  previousClientSecretExpiresAt: IsoDate.nullable(),
  createdAt: IsoDate,
  updatedAt: IsoDate,
});
export type VerifierToken = z.infer<typeof VerifierToken>;

const Scoped = { accountId: Uuid, tokenId: Uuid };

export const CreateServiceToken = register(
  defineRpc({
    subject: 'tokens.v1.create',
    request: z.strictObject({ accountId: Uuid, name: TokenName, duration: Duration.optional(), enabled: z.boolean().optional(), actor: Actor }),
    response: ServiceTokenWithSecret,
    errors: ['NOT_FOUND', 'VALIDATION_FAILED'],
  }),
);

export const ListServiceTokens = register(
  defineRpc({
    subject: 'tokens.v1.list',
    request: z.strictObject({
      accountId: Uuid,
      name: z.string().max(255).optional(),
      search: z.string().max(255).optional(),
      /** With either bound, only expiring tokens in [expiresAfter, expiresBefore), soonest first. */
      expiresAfter: IsoDate.optional(),
      expiresBefore: IsoDate.optional(),
      ...PageRequest.shape,
    }),
    /** totalCountExact false: more tokens match a filter than were counted, totalCount is a lower bound. */
    response: pageOf(ServiceToken).extend({ totalCountExact: z.boolean().default(true) }),
    errors: ['NOT_FOUND'],
  }),
);

export const GetServiceToken = register(
  defineRpc({ subject: 'tokens.v1.get', request: z.strictObject(Scoped), response: ServiceToken, errors: ['NOT_FOUND'] }),
);

export const UpdateServiceToken = register(
  defineRpc({
    subject: 'tokens.v1.update',
    request: z.strictObject({
      ...Scoped,
      name: TokenName.optional(),
      duration: Duration.optional(),
      enabled: z.boolean().optional(),
      previousClientSecretExpiresAt: IsoDate.nullable().optional(),
      /**
       * Rotation by update (what Terraform does): greater than the current version rotates the
       * secret as `rotate` does (the previous one accepted until `previousClientSecretExpiresAt`,
       * else not at all) and the version becomes this value; equal changes nothing; lower is
       * VALIDATION_FAILED.
       */
      clientSecretVersion: z.number().int().min(1).max(2_147_483_647).optional(),
      actor: Actor,
    }),
    /** `clientSecret` only when this update rotated the secret. */
    response: ServiceToken.extend({ clientSecret: z.string().optional() }),
    errors: ['NOT_FOUND', 'VALIDATION_FAILED'],
  }),
);

export const RefreshServiceToken = register(
  defineRpc({
    subject: 'tokens.v1.refresh',
    request: z.strictObject({ ...Scoped, actor: Actor }),
    response: ServiceToken,
    errors: ['NOT_FOUND'],
  }),
);

export const RotateServiceToken = register(
  defineRpc({
    subject: 'tokens.v1.rotate',
    request: z.strictObject({ ...Scoped, previousClientSecretExpiresAt: IsoDate.optional(), actor: Actor }),
    response: ServiceTokenWithSecret,
    errors: ['NOT_FOUND', 'VALIDATION_FAILED'],
  }),
);

export const DeleteServiceToken = register(
  defineRpc({
    subject: 'tokens.v1.delete',
    request: z.strictObject({ ...Scoped, actor: Actor }),
    response: ServiceToken,
    errors: ['NOT_FOUND'],
  }),
);

/** Batched usage from the gateway: the token service updates last_seen_at, one write a batch. */
export const TokensSeen = register(
  defineEvent({
    // Published by the gateway, so not under tokens.v1 (only the token service publishes there).
    subject: 'gateway.v1.tokensSeen',
    payload: z.object({ seen: z.array(z.object({ tokenId: Uuid, at: IsoDate })).max(10_000) }),
  }),
);

export const TokenChangeKinds = ['created', 'updated', 'refreshed', 'rotated', 'deleted'] as const;
export type TokenChangeKind = (typeof TokenChangeKinds)[number];

/** The payload of every token change event. `revision` grows by one per change, system-wide. */
export const TokenChanged = z.object({
  kind: z.enum(TokenChangeKinds),
  revision: z.number().int(),
  occurredAt: IsoDate,
  actor: Actor,
  token: VerifierToken,
});
export type TokenChanged = z.infer<typeof TokenChanged>;

export const TokenCreated = register(defineEvent({ subject: 'tokens.v1.created', payload: TokenChanged }));
export const TokenUpdated = register(defineEvent({ subject: 'tokens.v1.updated', payload: TokenChanged }));
export const TokenRefreshed = register(defineEvent({ subject: 'tokens.v1.refreshed', payload: TokenChanged }));
export const TokenRotated = register(defineEvent({ subject: 'tokens.v1.rotated', payload: TokenChanged }));
export const TokenDeleted = register(defineEvent({ subject: 'tokens.v1.deleted', payload: TokenChanged }));

export const TokenEventByKind = {
  created: TokenCreated,
  updated: TokenUpdated,
  refreshed: TokenRefreshed,
  rotated: TokenRotated,
  deleted: TokenDeleted,
} as const;
