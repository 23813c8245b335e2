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

/** A gateway decision's id, as Cloudflare's Ray ID: 16 lowercase hex digits. */
export const RayId = z.string().regex(/^[0-9a-f]{16}$/, 'a ray id is 16 hex digits');

/**
 * Authentication decisions from the gateway, batched. The token service appends them to the audit
 * log. Never carries a secret or a JWT. Carried durably by the JetStream stream below, so a batch
 * published while the token service is down or PostgreSQL is unreachable is appended later, once.
 */
export const AccessDecisionsRecorded = register(
  defineEvent({
    subject: 'audit.v1.accessDecisions',
    payload: z.object({
      /**
       * Names the batch: a redelivered or re-published batch is appended once (its rows' ids are
       * derived from it). Without one, the token service derives it from the message itself.
       */
      batchId: Uuid.optional(),
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
            /**
             * The decision id the gateway answered with (`Cf-Ray`, 16 hex); for an aggregated
             * entry, its first request's. Absent from gateways older than 0.2.
             */
            rayId: RayId.optional(),
          }),
        )
        .max(10_000),
    }),
  }),
);

/**
 * The JetStream stream that keeps access decisions until the token service has appended them
 * (both the gateway and the token service create it if it is missing, with this configuration).
 */
export const ACCESS_LOG_STREAM = {
  name: 'GATEHOUSE_ACCESS_LOG',
  subjects: [AccessDecisionsRecorded.subject],
  /** Kept at most this long (an outage of the token service longer than this loses batches). */
  maxAgeMs: 7 * 24 * 3_600_000,
  /** Publishes with the same batch id inside this window are stored once. */
  duplicateWindowMs: 10 * 60_000,
  /** The token service's durable consumer (shared by its replicas). */
  consumer: 'token-service-access-log',
} as const;

/** The part of a JetStream manager's stream API that `ensureAccessLogStream` uses. */
export interface StreamsApi {
  info(name: string): Promise<unknown>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- JetStream's StreamConfig
  add(config: any): Promise<unknown>;
}

/**
 * Creates the access-log stream when it is missing (the gateway and the token service both call
 * it), stored on `replicas` servers of a NATS cluster (GATEHOUSE_ACCESS_LOG_REPLICAS; 3 in the
 * compose file's cluster). An existing stream keeps its configuration.
 */
export async function ensureAccessLogStream(streams: StreamsApi, replicas = 1): Promise<void> {
  try {
    await streams.info(ACCESS_LOG_STREAM.name);
  } catch {
    await streams.add({
      name: ACCESS_LOG_STREAM.name,
      subjects: [...ACCESS_LOG_STREAM.subjects],
      retention: 'workqueue', // a batch leaves the stream once the token service acknowledged it
      storage: 'file',
      num_replicas: replicas,
      max_age: ACCESS_LOG_STREAM.maxAgeMs * 1_000_000,
      duplicate_window: ACCESS_LOG_STREAM.duplicateWindowMs * 1_000_000,
    });
  }
}
