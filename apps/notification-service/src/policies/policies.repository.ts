import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AlertPolicyEntity, WebhookDestinationEntity } from './alert-policy.entity.js';

/** Alert policies and webhook destinations; every method takes the account it is scoped to. */
@Injectable()
export class PoliciesRepository {
  constructor(private readonly dataSource: DataSource) {}

  listPolicies(accountId: string): Promise<AlertPolicyEntity[]> {
    return this.dataSource.manager.find(AlertPolicyEntity, { where: { accountId }, order: { createdAt: 'ASC', id: 'ASC' } });
  }

  findPolicy(accountId: string, id: string): Promise<AlertPolicyEntity | null> {
    return this.dataSource.manager.findOneBy(AlertPolicyEntity, { accountId, id });
  }

  async insertPolicy(policy: Omit<AlertPolicyEntity, 'id'>): Promise<AlertPolicyEntity> {
    return this.dataSource.manager.save(AlertPolicyEntity, this.dataSource.manager.create(AlertPolicyEntity, policy));
  }

  async updatePolicy(policy: AlertPolicyEntity): Promise<void> {
    const { id, accountId, ...fields } = policy;
    await this.dataSource.manager.update(AlertPolicyEntity, { id, accountId }, fields);
  }

  async deletePolicy(accountId: string, id: string): Promise<void> {
    await this.dataSource.manager.delete(AlertPolicyEntity, { accountId, id });
  }

  /** Names of the account's policies that send to this webhook destination. */
  async policiesUsingWebhook(accountId: string, webhookId: string): Promise<string[]> {
    const rows: Array<{ name: string }> = await this.dataSource.query(
      `SELECT name FROM alert_policies WHERE account_id = $1 AND $2::uuid = ANY(webhook_ids) ORDER BY created_at`,
      [accountId, webhookId],
    );
    return rows.map((r) => r.name);
  }

  listWebhooks(accountId: string): Promise<WebhookDestinationEntity[]> {
    return this.dataSource.manager.find(WebhookDestinationEntity, { where: { accountId }, order: { createdAt: 'ASC', id: 'ASC' } });
  }

  findWebhook(accountId: string, id: string): Promise<WebhookDestinationEntity | null> {
    return this.dataSource.manager.findOneBy(WebhookDestinationEntity, { accountId, id });
  }

  /** For the sender: a destination by id alone (the delivery row already carries the account). */
  findWebhookById(id: string): Promise<WebhookDestinationEntity | null> {
    return this.dataSource.manager.findOneBy(WebhookDestinationEntity, { id });
  }

  async insertWebhook(webhook: Omit<WebhookDestinationEntity, 'id'>): Promise<WebhookDestinationEntity> {
    return this.dataSource.manager.save(WebhookDestinationEntity, this.dataSource.manager.create(WebhookDestinationEntity, webhook));
  }

  async updateWebhook(webhook: WebhookDestinationEntity): Promise<void> {
    // Delivery outcomes are written by recordWebhookOutcome only (a stale copy never overwrites them).
    const { id, accountId, lastSuccessAt: _success, lastFailureAt: _failure, ...fields } = webhook;
    await this.dataSource.manager.update(WebhookDestinationEntity, { id, accountId }, fields);
  }

  /** Records the outcome of one delivery attempt (never moves a time backwards). */
  async recordWebhookOutcome(id: string, ok: boolean, at: Date): Promise<void> {
    const column = ok ? 'last_success_at' : 'last_failure_at';
    await this.dataSource.query(`UPDATE alert_webhooks SET ${column} = $2 WHERE id = $1 AND (${column} IS NULL OR ${column} < $2)`, [id, at]);
  }

  async deleteWebhook(accountId: string, id: string): Promise<void> {
    await this.dataSource.manager.delete(WebhookDestinationEntity, { accountId, id });
  }
}
