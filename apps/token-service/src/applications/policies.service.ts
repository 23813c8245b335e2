import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { DomainError, type Actor, type CreatePolicy, type Policy, type PolicyChanged, type UpdatePolicy } from '@gatehouse/contracts';
import type { z } from 'zod';
import { AccountsRepository } from '../accounts/accounts.repository.js';
import { AuditRepository } from '../audit/audit.repository.js';
import type { Ledger } from '../audit/ledger.js';
import { UNIT_OF_WORK, type Tx, type UnitOfWork } from '../database/unit-of-work.js';
import { CLOCK, type Clock } from '@gatehouse/nest-kit';
import { NatsAppChangePublisher, type AppChangePublisher } from './app-change.publisher.js';
import { namedTokens, toPolicy, type ApplicationRecord, type LinkedApplicationRecord, type PolicyRecord } from './application.record.js';
import { ApplicationsRepository, PoliciesRepository, type AppStore, type PolicyStore } from './applications.repository.js';
import { requireAccount } from '../accounts/require-account.js';

type CreateRequest = z.infer<typeof CreatePolicy.request>;
type UpdateRequest = z.infer<typeof UpdatePolicy.request>;
type PolicyChangeKind = 'created' | 'updated' | 'deleted';

@Injectable()
export class PoliciesService {
  constructor(
    @Inject(UNIT_OF_WORK) private readonly uow: UnitOfWork,
    @Inject(ApplicationsRepository) private readonly apps: AppStore,
    @Inject(PoliciesRepository) private readonly policies: PolicyStore,
    @Inject(AccountsRepository) private readonly accounts: Pick<AccountsRepository, 'findById'>,
    @Inject(AuditRepository) private readonly ledger: Ledger,
    @Inject(NatsAppChangePublisher) private readonly publisher: AppChangePublisher,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  /** Precedence omitted: after the app's last policy. */
  async create(req: CreateRequest): Promise<Policy> {
    await requireAccount(this.accounts, req.accountId);
    const { policy, event } = await this.uow.run(async (tx) => {
      const app = await this.lockApp(req.accountId, req.appId, tx);
      if (app.linkedPolicies.length) {
        throw new DomainError(
          'VALIDATION_FAILED',
          `Application ${app.id} links reusable policies; app-scoped policies cannot be added to it (unlink them with the application's "policies" first)`,
          [{ path: 'app_id', message: 'links reusable policies' }],
        );
      }
      const now = this.clock.now();
      const policy: PolicyRecord = {
        id: randomUUID(),
        accountId: req.accountId,
        appId: app.id,
        name: req.name,
        decision: 'non_identity',
        precedence: req.precedence ?? (await this.policies.maxPrecedence(app.id, tx)) + 1,
        include: req.include,
        require: req.require ?? [],
        exclude: req.exclude ?? [],
        createdAt: now,
        updatedAt: now,
      };
      await checkRuleTokens(this.policies, policy.accountId, policy, new Set(), tx);
      await this.policies.insert(policy, tx);
      return { policy, event: await this.record(tx, 'created', policy, app, req.actor, { precedence: policy.precedence }) };
    });
    await this.publisher.policyChanged(event);
    return toPolicy(policy);
  }

  async list(accountId: string, appId: string): Promise<Policy[]> {
    await this.requireApp(accountId, appId);
    return (await this.policies.listForApp(accountId, appId)).map(toPolicy);
  }

  async get(accountId: string, appId: string, policyId: string): Promise<Policy> {
    await this.requireApp(accountId, appId);
    const policy = await this.policies.find(accountId, appId, policyId);
    if (!policy) throw notFound(policyId);
    return toPolicy(policy);
  }

  /** `include` and `name` are replaced; omitted `precedence`, `require`, `exclude` keep their value. */
  async update(req: UpdateRequest): Promise<Policy> {
    await requireAccount(this.accounts, req.accountId);
    const { policy, event } = await this.uow.run(async (tx) => {
      const app = await this.lockApp(req.accountId, req.appId, tx);
      const policy = await this.policies.find(req.accountId, app.id, req.policyId, tx);
      if (!policy) throw notFound(req.policyId);
      // Rules the policy already had may stay even if their token was deleted since (they match nothing).
      const alreadyNamed = new Set(namedTokens(policy).map((n) => n.tokenId));
      const before = toPolicy(policy);
      policy.name = req.name;
      policy.precedence = req.precedence ?? policy.precedence;
      policy.include = req.include;
      policy.require = req.require ?? policy.require;
      policy.exclude = req.exclude ?? policy.exclude;
      await checkRuleTokens(this.policies, policy.accountId, policy, alreadyNamed, tx);
      policy.updatedAt = this.clock.now();
      await this.policies.update(policy, tx);
      const changed = (['name', 'precedence', 'include', 'require', 'exclude'] as const).filter((k) => JSON.stringify(before[k]) !== JSON.stringify(policy[k]));
      return { policy, event: await this.record(tx, 'updated', policy, app, req.actor, { changed }) };
    });
    await this.publisher.policyChanged(event);
    return toPolicy(policy);
  }

  async delete(accountId: string, appId: string, policyId: string, actor: Actor): Promise<Policy> {
    await requireAccount(this.accounts, accountId);
    const { policy, event } = await this.uow.run(async (tx) => {
      const app = await this.lockApp(accountId, appId, tx);
      const policy = await this.policies.find(accountId, app.id, policyId, tx);
      if (!policy) throw notFound(policyId);
      await this.policies.remove(accountId, policy.id, tx);
      return { policy, event: await this.record(tx, 'deleted', policy, app, actor, {}) };
    });
    await this.publisher.policyChanged(event);
    return toPolicy(policy);
  }

  /**
   * Policies of the account naming the token, with their app's name. NOT_FOUND only when nothing
   * is known of the id: no such token and no policy naming it (a deleted token's dangling rules
   * are still listed).
   */
  async usingToken(accountId: string, tokenId: string): Promise<Array<Policy & { appName: string }>> {
    await requireAccount(this.accounts, accountId);
    const rows = await this.policies.usingToken(accountId, tokenId);
    if (!rows.length && !(await this.policies.tokenExists(accountId, tokenId))) {
      throw new DomainError('NOT_FOUND', `Service token ${tokenId} not found`);
    }
    return rows.map((r) => ({ ...toPolicy(r), appName: r.appName }));
  }

  private async lockApp(accountId: string, appId: string, tx: Tx): Promise<LinkedApplicationRecord> {
    const app = await this.apps.findForUpdate(accountId, appId, tx);
    if (!app) throw appNotFound(appId);
    return app;
  }

  private async requireApp(accountId: string, appId: string): Promise<void> {
    await requireAccount(this.accounts, accountId);
    if (!(await this.apps.find(accountId, appId))) throw appNotFound(appId);
  }

  private async record(
    tx: Tx,
    kind: PolicyChangeKind,
    policy: PolicyRecord,
    app: ApplicationRecord,
    actor: Actor,
    metadata: Record<string, unknown>,
  ): Promise<PolicyChanged> {
    const revision = await this.ledger.bumpRevision(tx, [{ entity: 'policy', id: policy.id, deleted: kind === 'deleted' }]);
    const occurredAt = this.clock.now();
    await this.ledger.append(tx, {
      accountId: policy.accountId,
      action: `access_policy.${kind}`,
      actor,
      resourceType: 'access_policy',
      resourceId: policy.id,
      resourceName: policy.name,
      occurredAt,
      metadata: { appId: app.id, appName: app.name, ...metadata },
    });
    return { kind: kind === 'deleted' ? 'deleted' : 'upserted', revision, occurredAt: occurredAt.toISOString(), policy: toPolicy(policy) };
  }
}

/** Every token a rule names must be a token of the account (except `allowed` ids, already named before). */
export async function checkRuleTokens(
  store: Pick<PolicyStore, 'existingTokenIds'>,
  accountId: string,
  rules: Pick<PolicyRecord, 'include' | 'require' | 'exclude'>,
  allowed: ReadonlySet<string>,
  tx: Tx,
): Promise<void> {
  const named = namedTokens(rules).filter((n) => !allowed.has(n.tokenId));
  if (!named.length) return;
  const existing = await store.existingTokenIds(
    accountId,
    named.map((n) => n.tokenId),
    tx,
  );
  const missing = named.filter((n) => !existing.has(n.tokenId));
  if (!missing.length) return;
  const details = missing.map((m) => ({ path: m.path, message: `names no service token of this account (${m.tokenId})` }));
  throw new DomainError('VALIDATION_FAILED', `Policy rules name unknown service tokens: ${missing.map((m) => `${m.path} (${m.tokenId})`).join(', ')}`, details);
}

function notFound(policyId: string): DomainError {
  return new DomainError('NOT_FOUND', `Access policy ${policyId} not found`);
}
function appNotFound(appId: string): DomainError {
  return new DomainError('NOT_FOUND', `Access application ${appId} not found`);
}
