import { z } from 'zod';
import { Actor, IsoDate, PageRequest, Uuid, pageOf } from './common.js';
import { defineEvent, defineRpc, register } from './rpc.js';

/**
 * One audit event: who did what, when, to which resource. Token changes carry the token's id and
 * name; authentication decisions (from the gateway) carry app, decision and reason.
 */
export const AuditEvent = z.object({
  id: Uuid,
  accountId: Uuid,
  action: z.string(),
  actor: Actor,
  resourceType: z.string(),
  resourceId: z.string().nullable(),
  resourceName: z.string().nullable(),
  occurredAt: IsoDate,
  metadata: z.record(z.string(), z.unknown()),
});
export type AuditEvent = z.infer<typeof AuditEvent>;

export const ListAuditEvents = register(
  defineRpc({
    subject: 'audit.v1.list',
    request: z.strictObject({
      accountId: Uuid,
      resourceId: z.string().max(255).optional(),
      /** Everything about one token: its changes and the access decisions it was presented in. */
      tokenId: Uuid.optional(),
      action: z.string().max(64).optional(),
      since: IsoDate.optional(),
      before: IsoDate.optional(),
      ...PageRequest.shape,
    }),
    response: pageOf(AuditEvent),
    errors: ['NOT_FOUND'],
  }),
);

/**
 * Authentication decisions from the gateway, batched. The token service appends them to the audit
 * log. Never carries a secret or a JWT.
 */
export const AccessDecisionsRecorded = register(
  defineEvent({
    subject: 'audit.v1.accessDecisions',
    payload: z.object({
      decisions: z
        .array(
          z.object({
            accountId: Uuid,
            occurredAt: IsoDate,
            appId: Uuid.nullable(),
            appName: z.string().nullable(),
            tokenId: Uuid.nullable(),
            tokenName: z.string().nullable(),
            clientId: z.string().max(255).nullable(),
            decision: z.enum(['allow', 'deny']),
            reason: z.string().max(255),
            sourceIp: z.string().max(64).nullable(),
            via: z.enum(['service_token', 'jwt', 'forward_auth']),
            /** How many identical decisions this entry stands for (the gateway aggregates per second). */
            count: z.number().int().min(1).default(1),
          }),
        )
        .max(10_000),
    }),
  }),
);
