import {
  DomainError,
  EXPIRING_SERVICE_TOKEN_ALERT,
  type AlertPolicy,
  type CreateAlertPolicy,
  type CreateWebhookDestination,
  type RequestOf,
  type UpdateWebhookDestination,
  type WebhookDestination,
} from '@gatehouse/contracts';
import { Inject, Injectable } from '@nestjs/common';
import { AccountDirectory } from '../accounts/account-directory.js';
import { AlertScheduler } from '../deliveries/alert.scheduler.js';
import { CLOCK, type Clock } from '@gatehouse/nest-kit';
import type { Kickable } from '../tokens/token-replica.service.js';
import { SecretBox } from '../webhooks/secret-box.js';
import type { AlertPolicyEntity, WebhookDestinationEntity } from './alert-policy.entity.js';
import { PoliciesRepository } from './policies.repository.js';

type PolicyInput = Omit<RequestOf<typeof CreateAlertPolicy>, 'accountId'>;
type WebhookInput = Omit<RequestOf<typeof CreateWebhookDestination>, 'accountId'> & Pick<RequestOf<typeof UpdateWebhookDestination>, 'secret'>;

export function toAlertPolicy(p: AlertPolicyEntity): AlertPolicy {
  return {
    id: p.id,
    accountId: p.accountId,
    name: p.name,
    description: p.description,
    enabled: p.enabled,
    alertType: EXPIRING_SERVICE_TOKEN_ALERT,
    mechanisms: { email: p.emails.map((id) => ({ id })), webhooks: p.webhookIds.map((id) => ({ id })) },
    createdAt: p.createdAt.toISOString(),
    updatedAt: p.updatedAt.toISOString(),
  };
}

export function toWebhookDestination(w: WebhookDestinationEntity): WebhookDestination {
  return {
    id: w.id,
    accountId: w.accountId,
    name: w.name,
    url: w.url,
    hasSecret: w.secretCiphertext !== null,
    lastSuccess: w.lastSuccessAt?.toISOString() ?? null,
    lastFailure: w.lastFailureAt?.toISOString() ?? null,
    createdAt: w.createdAt.toISOString(),
    updatedAt: w.updatedAt.toISOString(),
  };
}

const unique = <T>(items: T[]) => [...new Set(items)];

/** Alert policies and webhook destinations of an account (which must exist in the token service). */
@Injectable()
export class PoliciesService {
  constructor(
    private readonly repo: PoliciesRepository,
    @Inject(AccountDirectory) private readonly accounts: Pick<AccountDirectory, 'require'>,
    private readonly secrets: SecretBox,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(AlertScheduler) private readonly scheduler: Kickable,
  ) {}

  async listPolicies(accountId: string): Promise<AlertPolicy[]> {
    await this.accounts.require(accountId);
    return (await this.repo.listPolicies(accountId)).map(toAlertPolicy);
  }

  async getPolicy(accountId: string, policyId: string): Promise<AlertPolicy> {
    return toAlertPolicy(await this.requirePolicy(accountId, policyId));
  }

  async createPolicy(accountId: string, input: PolicyInput): Promise<AlertPolicy> {
    await this.accounts.require(accountId);
    const now = this.clock.now();
    const policy = await this.repo.insertPolicy({ accountId, ...(await this.fields(accountId, input)), createdAt: now, updatedAt: now });
    this.scheduler.kick();
    return toAlertPolicy(policy);
  }

  async updatePolicy(accountId: string, policyId: string, input: PolicyInput): Promise<AlertPolicy> {
    const policy = await this.requirePolicy(accountId, policyId);
    Object.assign(policy, await this.fields(accountId, input), { updatedAt: this.clock.now() });
    await this.repo.updatePolicy(policy);
    this.scheduler.kick();
    return toAlertPolicy(policy);
  }

  async deletePolicy(accountId: string, policyId: string): Promise<AlertPolicy> {
    const policy = await this.requirePolicy(accountId, policyId);
    await this.repo.deletePolicy(accountId, policyId);
    this.scheduler.kick();
    return toAlertPolicy(policy);
  }

  async listWebhooks(accountId: string): Promise<WebhookDestination[]> {
    await this.accounts.require(accountId);
    return (await this.repo.listWebhooks(accountId)).map(toWebhookDestination);
  }

  async getWebhook(accountId: string, webhookId: string): Promise<WebhookDestination> {
    return toWebhookDestination(await this.requireWebhook(accountId, webhookId));
  }

  async createWebhook(accountId: string, input: WebhookInput): Promise<WebhookDestination> {
    await this.accounts.require(accountId);
    const now = this.clock.now();
    const webhook = await this.repo.insertWebhook({
      accountId,
      name: input.name,
      url: input.url,
      secretCiphertext: input.secret ? this.secrets.seal(input.secret) : null,
      lastSuccessAt: null,
      lastFailureAt: null,
      createdAt: now,
      updatedAt: now,
    });
    return toWebhookDestination(webhook);
  }

  async updateWebhook(accountId: string, webhookId: string, input: WebhookInput): Promise<WebhookDestination> {
    const webhook = await this.requireWebhook(accountId, webhookId);
    webhook.name = input.name;
    webhook.url = input.url;
    if (input.secret !== undefined) webhook.secretCiphertext = input.secret ? this.secrets.seal(input.secret) : null;
    webhook.updatedAt = this.clock.now();
    await this.repo.updateWebhook(webhook);
    return toWebhookDestination(webhook);
  }

  async deleteWebhook(accountId: string, webhookId: string): Promise<WebhookDestination> {
    const webhook = await this.requireWebhook(accountId, webhookId);
    const users = await this.repo.policiesUsingWebhook(accountId, webhookId);
    if (users.length) {
      throw new DomainError(
        'CONFLICT',
        `Webhook destination ${webhookId} is used by alert policies: ${users.map((n) => `"${n}"`).join(', ')}; remove it from them first`,
      );
    }
    await this.repo.deleteWebhook(accountId, webhookId);
    return toWebhookDestination(webhook);
  }

  /** Validated, de-duplicated policy fields; every webhook must be a destination of this account. */
  private async fields(accountId: string, input: PolicyInput) {
    const webhookIds = unique((input.mechanisms.webhooks ?? []).map((w) => w.id));
    const known = new Set((await this.repo.listWebhooks(accountId)).map((w) => w.id));
    const unknown = webhookIds.filter((id) => !known.has(id));
    if (unknown.length) {
      throw new DomainError(
        'VALIDATION_FAILED',
        `Unknown webhook destination: ${unknown.join(', ')}`,
        unknown.map((id) => ({ path: 'mechanisms.webhooks', message: `no webhook destination ${id} in this account` })),
      );
    }
    return {
      name: input.name,
      description: input.description ?? '',
      enabled: input.enabled ?? true,
      alertType: input.alertType,
      emails: unique((input.mechanisms.email ?? []).map((e) => e.id)),
      webhookIds,
    };
  }

  private async requirePolicy(accountId: string, policyId: string): Promise<AlertPolicyEntity> {
    await this.accounts.require(accountId);
    const policy = await this.repo.findPolicy(accountId, policyId);
    if (!policy) throw new DomainError('NOT_FOUND', `Alert policy ${policyId} not found`);
    return policy;
  }

  private async requireWebhook(accountId: string, webhookId: string): Promise<WebhookDestinationEntity> {
    await this.accounts.require(accountId);
    const webhook = await this.repo.findWebhook(accountId, webhookId);
    if (!webhook) throw new DomainError('NOT_FOUND', `Webhook destination ${webhookId} not found`);
    return webhook;
  }
}
