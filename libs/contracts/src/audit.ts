import { z } from 'zod';
import { Actor, IsoDate, PageRequest, Uuid, pageOf } from './common.js';
import { defineRpc, register } from './rpc.js';

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
      action: z.string().max(64).optional(),
      since: IsoDate.optional(),
      before: IsoDate.optional(),
      ...PageRequest.shape,
    }),
    response: pageOf(AuditEvent),
    errors: ['NOT_FOUND'],
  }),
);
