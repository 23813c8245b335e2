import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import {
  DomainError,
  type Actor,
  type AppChanged,
  type CreateReusablePolicy,
  type Page,
  type ReusablePolicy,
  type UpdateReusablePolicy,
} from '@gatehouse/contracts';
import type { z } from 'zod';
import { AccountsRepository } from '../accounts/accounts.repository.js';
import { AuditRepository } from '../audit/audit.repository.js';
import { requireAccount } from '../accounts/require-account.js';
import type { Ledger } from '../audit/ledger.js';
import { UNIT_OF_WORK, type Tx, type UnitOfWork } from '../database/unit-of-work.js';
import { CLOCK, type Clock } from '@gatehouse/nest-kit';
import { NatsAppChangePublisher, type AppChangePublisher } from './app-change.publisher.js';
import { namedTokens, toApplication, toReusablePolicy, type PolicyUser, type ReusablePolicyRecord } from './application.record.js';
import { ApplicationsRepository, PoliciesRepository, type AppStore, type PolicyStore } from './applications.repository.js';
import { checkRuleTokens } from './policies.service.js';
import { ReusablePoliciesRepository, type ReusablePolicyStore } from './reusable-policies.repository.js';

type CreateRequest = z.infer<typeof CreateReusablePolicy.request>;
type UpdateRequest = z.infer<typeof UpdateReusablePolicy.request>;

/**
 * Reusable (account-level) Service Auth policies. A change reaches the gateway as one AppChanged
 * event per application linking the policy (the app carries its linked policies resolved), each
 * with its own revision, in the policy's transaction; a policy no app links changes no replica
 * and bumps no revision (it is audited only).
 */
@Injectable()
export class ReusablePoliciesService {
  constructor(
    @Inject(UNIT_OF_WORK) private readonly uow: UnitOfWork,
    @Inject(ReusablePoliciesRepository) private readonly store: ReusablePolicyStore,
    @Inject(ApplicationsRepository) private readonly apps: AppStore,
    @Inject(PoliciesRepository) private readonly tokens: Pick<PolicyStore, 'existingTokenIds'>,
    @Inject(AccountsRepository) private readonly accounts: Pick<AccountsRepository, 'findById'>,
    @Inject(AuditRepository) private readonly ledger: Ledger,
    @Inject(NatsAppChangePublisher) private readonly publisher: AppChangePublisher,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async create(req: CreateRequest): Promise<ReusablePolicy> {
    await requireAccount(this.accounts, req.accountId);
    const now = this.clock.now();
    const policy: ReusablePolicyRecord = {
      id: randomUUID(),
      accountId: req.accountId,
      name: req.name,
      decision: 'non_identity',
      include: req.include,
      require: req.require ?? [],
      exclude: req.exclude ?? [],
      sessionDuration: req.sessionDuration ?? null,
      createdAt: now,
      updatedAt: now,
    };
    await this.uow.run(async (tx) => {
      await checkRuleTokens(this.tokens, policy.accountId, policy, new Set(), tx);
      await this.store.insert(policy, tx);
      await this.audit(tx, 'created', policy, req.actor, {});
    });
    return toReusablePolicy(policy, []);
  }

  async list(accountId: string, page: number, perPage: number): Promise<Page<ReusablePolicy>> {
    await requireAccount(this.accounts, accountId);
    const { rows, total } = await this.store.list(accountId, page, perPage);
    const users = await this.store.users(rows.map((r) => r.id));
    return { items: rows.map((r) => toReusablePolicy(r, users.get(r.id) ?? [])), page, perPage, totalCount: total };
  }

  async get(accountId: string, policyId: string): Promise<ReusablePolicy> {
    await requireAccount(this.accounts, accountId);
    const policy = await this.store.find(accountId, policyId);
    if (!policy) throw notFound(policyId);
    return toReusablePolicy(policy, (await this.store.users([policy.id])).get(policy.id) ?? []);
  }

  /** Policies naming the token (also a deleted one: its rules stay, dangling); [] when none does. */
  async usingToken(accountId: string, tokenId: string): Promise<ReusablePolicy[]> {
    await requireAccount(this.accounts, accountId);
    const rows = await this.store.usingToken(accountId, tokenId);
    const users = await this.store.users(rows.map((r) => r.id));
    return rows.map((r) => toReusablePolicy(r, users.get(r.id) ?? []));
  }

  /** `name`, `decision`, `include` are replaced; omitted `require`, `exclude`, `sessionDuration` keep their value. */
  async update(req: UpdateRequest): Promise<ReusablePolicy> {
    await requireAccount(this.accounts, req.accountId);
    const { policy, users, events } = await this.uow.run(async (tx) => {
      // Lock order: account, apps, policy (as app writes do), so every announced app state is current.
      await this.apps.lockAccount(req.accountId, tx);
      const policy = await this.store.findForUpdate(req.accountId, req.policyId, tx);
      if (!policy) throw notFound(req.policyId);
      const alreadyNamed = new Set(namedTokens(policy).map((n) => n.tokenId));
      const before = { ...policy };
      policy.name = req.name;
      policy.include = req.include;
      policy.require = req.require ?? policy.require;
      policy.exclude = req.exclude ?? policy.exclude;
      if (req.sessionDuration !== undefined) policy.sessionDuration = req.sessionDuration;
      await checkRuleTokens(this.tokens, policy.accountId, policy, alreadyNamed, tx);
      policy.updatedAt = this.clock.now();
      await this.store.update(policy, tx);
      const changed = (['name', 'include', 'require', 'exclude', 'sessionDuration'] as const).filter(
        (k) => JSON.stringify(before[k]) !== JSON.stringify(policy[k]),
      );
      const users = (await this.store.users([policy.id], tx)).get(policy.id) ?? [];
      await this.audit(tx, 'updated', policy, req.actor, { changed, apps: users.map((u) => u.id) });
      return { policy, users, events: await this.announce(tx, req.accountId, users) };
    });
    for (const event of events) await this.publisher.appChanged(event);
    return toReusablePolicy(policy, users);
  }

  /** Refused (VALIDATION_FAILED naming them) while applications link the policy. */
  async delete(accountId: string, policyId: string, actor: Actor): Promise<ReusablePolicy> {
    await requireAccount(this.accounts, accountId);
    const policy = await this.uow.run(async (tx) => {
      await this.apps.lockAccount(accountId, tx);
      const policy = await this.store.findForUpdate(accountId, policyId, tx);
      if (!policy) throw notFound(policyId);
      const users = (await this.store.users([policy.id], tx)).get(policy.id) ?? [];
      if (users.length) {
        const names = users.map((u) => `"${u.name}" (${u.id})`).join(', ');
        throw new DomainError(
          'VALIDATION_FAILED',
          `Policy ${policy.id} is still used by ${users.length} application(s): ${names}. Remove it from their "policies" first.`,
          [{ path: 'policy_id', message: `used by ${names}` }],
        );
      }
      await this.store.remove(accountId, policy.id, tx);
      await this.audit(tx, 'deleted', policy, actor, {});
      return policy;
    });
    return toReusablePolicy(policy, []);
  }

  /** One AppChanged (and revision) per linking app, with the app's current state. */
  private async announce(tx: Tx, accountId: string, users: PolicyUser[]): Promise<AppChanged[]> {
    // Every app row is locked first, in id order: two policy changes sharing apps cannot deadlock.
    const apps = [];
    for (const user of [...users].sort((a, b) => a.id.localeCompare(b.id))) {
      const app = await this.apps.findForUpdate(accountId, user.id, tx);
      if (app) apps.push(app);
    }
    const events: AppChanged[] = [];
    for (const app of apps) {
      // The app's row moves to the new revision: a replica pulling "changes since R" gets the app
      // record again, with this policy's new rules in its linkedPolicies.
      const revision = await this.ledger.bumpRevision(tx, [{ entity: 'app', id: app.id, deleted: false }]);
      events.push({ kind: 'upserted', revision, occurredAt: this.clock.now().toISOString(), app: toApplication(app) });
    }
    return events;
  }

  private async audit(
    tx: Tx,
    kind: 'created' | 'updated' | 'deleted',
    policy: ReusablePolicyRecord,
    actor: Actor,
    metadata: Record<string, unknown>,
  ): Promise<void> {
    await this.ledger.append(tx, {
      accountId: policy.accountId,
      action: `access_policy.${kind}`,
      actor,
      resourceType: 'access_policy',
      resourceId: policy.id,
      resourceName: policy.name,
      occurredAt: this.clock.now(),
      metadata: { reusable: true, ...metadata },
    });
  }
}

function notFound(policyId: string): DomainError {
  return new DomainError('NOT_FOUND', `Access policy ${policyId} not found`);
}
