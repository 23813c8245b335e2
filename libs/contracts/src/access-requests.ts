import { z } from 'zod';
import { IsoDate, Uuid, pageOf } from './common.js';
import { RayId } from './audit.js';
import { defineRpc, register } from './rpc.js';

/**
 * The gateway's access decisions as Cloudflare's access request log lists them
 * (`access/logs/access_requests`), read from the audit log the token service keeps.
 */
export const AccessRequestRecord = z.object({
  id: Uuid,
  occurredAt: IsoDate,
  allowed: z.boolean(),
  appId: Uuid.nullable(),
  appName: z.string().nullable(),
  /** The app's current domain (null once the app is deleted). */
  appDomain: z.string().nullable(),
  tokenId: Uuid.nullable(),
  tokenName: z.string().nullable(),
  clientId: z.string().nullable(),
  sourceIp: z.string().nullable(),
  via: z.string(),
  reason: z.string(),
  /** How many identical decisions this record stands for (the gateway aggregates per second). */
  count: z.number().int(),
  /** The decision id the gateway answered with (`Cf-Ray`); null for entries from older gateways. */
  rayId: z.string().nullable(),
});
export type AccessRequestRecord = z.infer<typeof AccessRequestRecord>;

export const ListAccessRequests = register(
  defineRpc({
    subject: 'audit.v1.accessRequests',
    request: z.strictObject({
      accountId: Uuid,
      since: IsoDate.optional(),
      until: IsoDate.optional(),
      direction: z.enum(['asc', 'desc']).default('desc'),
      /** Only the entry of this decision (a `Cf-Ray` a client quoted). */
      rayId: RayId.optional(),
      /** At most this many records in all (pages stop there). */
      limit: z.number().int().min(1).max(100_000).optional(),
      page: z.number().int().min(1).max(1_000_000).default(1),
      perPage: z.number().int().min(1).max(1000).default(25),
    }),
    response: pageOf(AccessRequestRecord),
    errors: ['NOT_FOUND', 'VALIDATION_FAILED'],
  }),
);
