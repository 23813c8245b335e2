import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post, Put, Query, UseGuards } from '@nestjs/common';
import {
  AlertName,
  AlertType,
  CreateAlertPolicy,
  CreateWebhookDestination,
  DeleteAlertPolicy,
  DeleteWebhookDestination,
  DeliveryStatuses,
  GetAlertPolicy,
  GetWebhookDestination,
  IsoDate,
  ListAlertHistory,
  ListAlertPolicies,
  ListWebhookDestinations,
  Mechanisms,
  MechanismsInput,
  UpdateAlertPolicy,
  UpdateWebhookDestination,
  Uuid,
  WebhookSecret,
  WebhookUrl,
  type AlertDelivery,
  type AlertPolicy,
  type WebhookDestination,
} from '@gatehouse/contracts';
import type { RpcClient } from '@gatehouse/nest-kit';
import { z } from 'zod';
import { AdminAuthGuard } from '../http/admin-auth.guard.js';
import { ok, okPage } from '../http/envelope.js';
import { PageQuery, body, query, uuidParam } from '../http/input.js';
import { RPC } from '../http/rpc.provider.js';

/** An alert policy in Cloudflare's alerting v3 field names. */
export const CfAlertPolicy = z
  .object({
    id: Uuid,
    name: z.string(),
    description: z.string(),
    enabled: z.boolean(),
    alert_type: AlertType,
    mechanisms: Mechanisms,
    filters: z.object({}),
    created: IsoDate,
    modified: IsoDate,
  })
  .meta({ id: 'AlertPolicy' });

/** A webhook destination; the secret is write-only: `secret` is always null, `has_secret` says whether one is set. */
export const CfWebhook = z
  .object({
    id: Uuid,
    name: z.string(),
    url: z.string(),
    type: z.literal('generic'),
    secret: z.null(),
    has_secret: z.boolean(),
    last_success: IsoDate.nullable(),
    last_failure: IsoDate.nullable(),
    created_at: IsoDate,
    updated_at: IsoDate,
  })
  .meta({ id: 'WebhookDestination' });

/** One delivery of an alert: its recipient, token, time and outcome. */
export const CfAlertHistory = z
  .object({
    id: Uuid,
    alert_type: AlertType,
    name: z.string(),
    policy_id: Uuid,
    mechanism: z.string(),
    mechanism_type: z.enum(['email', 'webhook']),
    status: z.enum(DeliveryStatuses),
    sent: IsoDate.nullable(),
    attempts: z.number().int(),
    last_error: z.string().nullable(),
    token: z.object({ id: Uuid, name: z.string(), client_id: z.string(), expires_at: IsoDate }),
    due_at: IsoDate,
    next_attempt_at: IsoDate,
    created: IsoDate,
    modified: IsoDate,
  })
  .meta({ id: 'AlertHistoryItem' });

export function toCfPolicy(p: AlertPolicy): z.infer<typeof CfAlertPolicy> {
  return {
    id: p.id,
    name: p.name,
    description: p.description,
    enabled: p.enabled,
    alert_type: p.alertType,
    mechanisms: p.mechanisms,
    filters: {},
    created: p.createdAt,
    modified: p.updatedAt,
  };
}

export function toCfWebhook(w: WebhookDestination): z.infer<typeof CfWebhook> {
  return {
    id: w.id,
    name: w.name,
    url: w.url,
    type: 'generic',
    secret: null,
    has_secret: w.hasSecret,
    last_success: w.lastSuccess,
    last_failure: w.lastFailure,
    created_at: w.createdAt,
    updated_at: w.updatedAt,
  };
}

export function toCfHistory(d: AlertDelivery): z.infer<typeof CfAlertHistory> {
  return {
    id: d.id,
    alert_type: d.alertType,
    name: d.policyName,
    policy_id: d.policyId,
    mechanism: d.target,
    mechanism_type: d.mechanismType,
    status: d.status,
    sent: d.sentAt,
    attempts: d.attempts,
    last_error: d.lastError,
    token: { id: d.token.id, name: d.token.name, client_id: d.token.clientId, expires_at: d.token.expiresAt },
    due_at: d.dueAt,
    next_attempt_at: d.nextAttemptAt,
    created: d.createdAt,
    modified: d.updatedAt,
  };
}

export const AlertPolicyBody = z.strictObject({
  name: AlertName,
  description: z.string().trim().max(1024, 'must be at most 1024 characters').optional(),
  enabled: z.boolean().optional(),
  alert_type: AlertType,
  mechanisms: MechanismsInput,
  /** Accepted for Cloudflare compatibility; expiring-token alerts take no filters. */
  filters: z.strictObject({}).optional(),
});
export const WebhookBody = z.strictObject({ name: AlertName, url: WebhookUrl, secret: WebhookSecret.nullable().optional() });
export const HistoryQuery = z.strictObject({
  since: IsoDate.optional(),
  before: IsoDate.optional(),
  token_id: Uuid.optional(),
  ...PageQuery,
});

const policyFields = (input: z.infer<typeof AlertPolicyBody>) => ({
  name: input.name,
  description: input.description,
  enabled: input.enabled,
  alertType: input.alert_type,
  mechanisms: input.mechanisms,
});

@Controller('client/v4/accounts/:account_id/alerting/v3')
@UseGuards(AdminAuthGuard)
export class AlertingController {
  constructor(@Inject(RPC) private readonly rpc: RpcClient) {}

  @Get('policies')
  async listPolicies(@Param('account_id') accountId: string) {
    const items = await this.rpc.request(ListAlertPolicies, { accountId: uuidParam(accountId, 'account_id') });
    return okPage(items.map(toCfPolicy), { page: 1, perPage: Math.max(items.length, 1), totalCount: items.length });
  }

  @Post('policies')
  @HttpCode(200)
  async createPolicy(@Param('account_id') accountId: string, @Body() raw: unknown) {
    const input = body(AlertPolicyBody, raw);
    const policy = await this.rpc.request(CreateAlertPolicy, { accountId: uuidParam(accountId, 'account_id'), ...policyFields(input) });
    return ok(toCfPolicy(policy));
  }

  @Get('policies/:policy_id')
  async getPolicy(@Param('account_id') accountId: string, @Param('policy_id') policyId: string) {
    const policy = await this.rpc.request(GetAlertPolicy, { accountId: uuidParam(accountId, 'account_id'), policyId: uuidParam(policyId, 'policy_id') });
    return ok(toCfPolicy(policy));
  }

  @Put('policies/:policy_id')
  async updatePolicy(@Param('account_id') accountId: string, @Param('policy_id') policyId: string, @Body() raw: unknown) {
    const input = body(AlertPolicyBody, raw);
    const policy = await this.rpc.request(UpdateAlertPolicy, {
      accountId: uuidParam(accountId, 'account_id'),
      policyId: uuidParam(policyId, 'policy_id'),
      ...policyFields(input),
    });
    return ok(toCfPolicy(policy));
  }

  @Delete('policies/:policy_id')
  async deletePolicy(@Param('account_id') accountId: string, @Param('policy_id') policyId: string) {
    const policy = await this.rpc.request(DeleteAlertPolicy, { accountId: uuidParam(accountId, 'account_id'), policyId: uuidParam(policyId, 'policy_id') });
    return ok({ id: policy.id });
  }

  @Get('destinations/webhooks')
  async listWebhooks(@Param('account_id') accountId: string) {
    const items = await this.rpc.request(ListWebhookDestinations, { accountId: uuidParam(accountId, 'account_id') });
    return okPage(items.map(toCfWebhook), { page: 1, perPage: Math.max(items.length, 1), totalCount: items.length });
  }

  @Post('destinations/webhooks')
  @HttpCode(200)
  async createWebhook(@Param('account_id') accountId: string, @Body() raw: unknown) {
    const input = body(WebhookBody, raw);
    const webhook = await this.rpc.request(CreateWebhookDestination, { accountId: uuidParam(accountId, 'account_id'), ...input });
    return ok(toCfWebhook(webhook));
  }

  @Get('destinations/webhooks/:webhook_id')
  async getWebhook(@Param('account_id') accountId: string, @Param('webhook_id') webhookId: string) {
    const webhook = await this.rpc.request(GetWebhookDestination, {
      accountId: uuidParam(accountId, 'account_id'),
      webhookId: uuidParam(webhookId, 'webhook_id'),
    });
    return ok(toCfWebhook(webhook));
  }

  @Put('destinations/webhooks/:webhook_id')
  async updateWebhook(@Param('account_id') accountId: string, @Param('webhook_id') webhookId: string, @Body() raw: unknown) {
    const input = body(WebhookBody, raw);
    const webhook = await this.rpc.request(UpdateWebhookDestination, {
      accountId: uuidParam(accountId, 'account_id'),
      webhookId: uuidParam(webhookId, 'webhook_id'),
      ...input,
    });
    return ok(toCfWebhook(webhook));
  }

  @Delete('destinations/webhooks/:webhook_id')
  async deleteWebhook(@Param('account_id') accountId: string, @Param('webhook_id') webhookId: string) {
    const webhook = await this.rpc.request(DeleteWebhookDestination, {
      accountId: uuidParam(accountId, 'account_id'),
      webhookId: uuidParam(webhookId, 'webhook_id'),
    });
    return ok({ id: webhook.id });
  }

  @Get('history')
  async history(@Param('account_id') accountId: string, @Query() raw: unknown) {
    const q = query(HistoryQuery, raw);
    const page = await this.rpc.request(ListAlertHistory, {
      accountId: uuidParam(accountId, 'account_id'),
      tokenId: q.token_id,
      since: q.since,
      before: q.before,
      page: q.page,
      perPage: q.per_page,
    });
    return okPage(page.items.map(toCfHistory), page);
  }
}
