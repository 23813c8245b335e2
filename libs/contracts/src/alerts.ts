import { z } from 'zod';
import { IsoDate, PageRequest, Uuid, pageOf } from './common.js';
import { defineRpc, register } from './rpc.js';

/**
 * Expiration alerts (Cloudflare "Notifications", alerting v3). Owned by the notification service:
 * policies say who hears about which tokens; webhook destinations are where webhooks go; the
 * history lists every delivery. The notification service learns tokens from the token service's
 * events (`tokens.v1.*`, hints) and the change feed (`replica.v3.changes`, tokens only).
 */

export const EXPIRING_SERVICE_TOKEN_ALERT = 'expiring_service_token_alert';
export const AlertType = z.literal(EXPIRING_SERVICE_TOKEN_ALERT, {
  message: `must be "${EXPIRING_SERVICE_TOKEN_ALERT}" (the only alert type Gatehouse sends)`,
});
/** How long before expires_at an expiring-token alert is due. */
export const ALERT_LEAD_MS = 7 * 24 * 3_600_000;

const EMAIL = /^[^\s@<>()[\]\\,;:"]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;
/** An email recipient; stored lower-cased so "Ops@x" and "ops@x" are one recipient (one delivery). */
export const EmailAddress = z
  .string()
  .trim()
  .max(254, 'must be at most 254 characters')
  .regex(EMAIL, 'must be an email address such as ops@example.com')
  .transform((s) => s.toLowerCase());

export const AlertName = z.string().trim().min(1, 'must not be empty').max(255, 'must be at most 255 characters');

export const WebhookUrl = z
  .string()
  .trim()
  .max(2048, 'must be at most 2048 characters')
  .refine((s) => {
    try {
      const u = new URL(s);
      return (u.protocol === 'http:' || u.protocol === 'https:') && !u.username && !u.password;
    } catch {
      return false;
    }
  }, 'must be an http:// or https:// URL without credentials');

/** Signs webhook bodies (HMAC-SHA256). Write-only: never returned after it is set. */
export const WebhookSecret = z.string().min(16, 'must be at least 16 characters').max(1024, 'must be at most 1024 characters');

export const Mechanisms = z.object({
  email: z.array(z.object({ id: z.string() })),
  webhooks: z.array(z.object({ id: Uuid })),
});
export type Mechanisms = z.infer<typeof Mechanisms>;

export const MechanismsInput = z
  .strictObject({
    email: z
      .array(z.strictObject({ id: EmailAddress }))
      .max(100, 'at most 100 email recipients')
      .optional(),
    webhooks: z
      .array(z.strictObject({ id: Uuid }))
      .max(20, 'at most 20 webhooks')
      .optional(),
  })
  .refine((m) => (m.email?.length ?? 0) + (m.webhooks?.length ?? 0) > 0, 'must name at least one email recipient or webhook');

export const AlertPolicy = z.object({
  id: Uuid,
  accountId: Uuid,
  name: z.string(),
  description: z.string(),
  enabled: z.boolean(),
  alertType: AlertType,
  mechanisms: Mechanisms,
  createdAt: IsoDate,
  updatedAt: IsoDate,
});
export type AlertPolicy = z.infer<typeof AlertPolicy>;

export const WebhookDestination = z.object({
  id: Uuid,
  accountId: Uuid,
  name: z.string(),
  url: z.string(),
  /** Whether bodies are signed; the secret itself never leaves the notification service. */
  hasSecret: z.boolean(),
  /** When a delivery to it last succeeded / failed (null: never). */
  lastSuccess: IsoDate.nullable(),
  lastFailure: IsoDate.nullable(),
  createdAt: IsoDate,
  updatedAt: IsoDate,
});
export type WebhookDestination = z.infer<typeof WebhookDestination>;

export const DeliveryStatuses = ['pending', 'sending', 'sent', 'failed', 'cancelled'] as const;
export const AlertDelivery = z.object({
  id: Uuid,
  accountId: Uuid,
  alertType: AlertType,
  policyId: Uuid,
  policyName: z.string(),
  mechanismType: z.enum(['email', 'webhook']),
  /** The email address, or the webhook destination's id. */
  target: z.string(),
  token: z.object({ id: Uuid, name: z.string(), clientId: z.string(), expiresAt: IsoDate }),
  status: z.enum(DeliveryStatuses),
  attempts: z.number().int(),
  lastError: z.string().nullable(),
  dueAt: IsoDate,
  nextAttemptAt: IsoDate,
  sentAt: IsoDate.nullable(),
  createdAt: IsoDate,
  updatedAt: IsoDate,
});
export type AlertDelivery = z.infer<typeof AlertDelivery>;

const AccountScoped = { accountId: Uuid };
const PolicyFields = {
  name: AlertName,
  description: z.string().trim().max(1024, 'must be at most 1024 characters').optional(),
  enabled: z.boolean().optional(),
  alertType: AlertType,
  mechanisms: MechanismsInput,
};
const WebhookFields = { name: AlertName, url: WebhookUrl, secret: WebhookSecret.nullable().optional() };

export const CreateAlertPolicy = register(
  defineRpc({
    subject: 'alerts.v1.policies.create',
    request: z.strictObject({ ...AccountScoped, ...PolicyFields }),
    response: AlertPolicy,
    errors: ['NOT_FOUND', 'VALIDATION_FAILED'],
  }),
);
export const ListAlertPolicies = register(
  defineRpc({
    subject: 'alerts.v1.policies.list',
    request: z.strictObject(AccountScoped),
    response: z.array(AlertPolicy),
    errors: ['NOT_FOUND'],
  }),
);
export const GetAlertPolicy = register(
  defineRpc({
    subject: 'alerts.v1.policies.get',
    request: z.strictObject({ ...AccountScoped, policyId: Uuid }),
    response: AlertPolicy,
    errors: ['NOT_FOUND'],
  }),
);
export const UpdateAlertPolicy = register(
  defineRpc({
    subject: 'alerts.v1.policies.update',
    request: z.strictObject({ ...AccountScoped, policyId: Uuid, ...PolicyFields }),
    response: AlertPolicy,
    errors: ['NOT_FOUND', 'VALIDATION_FAILED'],
  }),
);
export const DeleteAlertPolicy = register(
  defineRpc({
    subject: 'alerts.v1.policies.delete',
    request: z.strictObject({ ...AccountScoped, policyId: Uuid }),
    response: AlertPolicy,
    errors: ['NOT_FOUND'],
  }),
);

export const CreateWebhookDestination = register(
  defineRpc({
    subject: 'alerts.v1.webhooks.create',
    request: z.strictObject({ ...AccountScoped, ...WebhookFields }),
    response: WebhookDestination,
    errors: ['NOT_FOUND', 'VALIDATION_FAILED'],
  }),
);
export const ListWebhookDestinations = register(
  defineRpc({
    subject: 'alerts.v1.webhooks.list',
    request: z.strictObject(AccountScoped),
    response: z.array(WebhookDestination),
    errors: ['NOT_FOUND'],
  }),
);
export const GetWebhookDestination = register(
  defineRpc({
    subject: 'alerts.v1.webhooks.get',
    request: z.strictObject({ ...AccountScoped, webhookId: Uuid }),
    response: WebhookDestination,
    errors: ['NOT_FOUND'],
  }),
);
/** `secret` omitted keeps the stored one; null removes it (bodies go unsigned). */
export const UpdateWebhookDestination = register(
  defineRpc({
    subject: 'alerts.v1.webhooks.update',
    request: z.strictObject({ ...AccountScoped, webhookId: Uuid, ...WebhookFields }),
    response: WebhookDestination,
    errors: ['NOT_FOUND', 'VALIDATION_FAILED'],
  }),
);
/** Refused (CONFLICT) while a policy still names the destination. */
export const DeleteWebhookDestination = register(
  defineRpc({
    subject: 'alerts.v1.webhooks.delete',
    request: z.strictObject({ ...AccountScoped, webhookId: Uuid }),
    response: WebhookDestination,
    errors: ['NOT_FOUND', 'CONFLICT'],
  }),
);

export const ListAlertHistory = register(
  defineRpc({
    subject: 'alerts.v1.history.list',
    request: z.strictObject({
      ...AccountScoped,
      tokenId: Uuid.optional(),
      since: IsoDate.optional(),
      before: IsoDate.optional(),
      ...PageRequest.shape,
    }),
    response: pageOf(AlertDelivery),
    errors: ['NOT_FOUND'],
  }),
);
