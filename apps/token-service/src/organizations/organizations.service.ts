import { Inject, Injectable, Logger } from '@nestjs/common';
import { OrganizationChangedEvent, type Organization, type OrganizationChanged, type UpdateOrganization } from '@gatehouse/contracts';
import { CLOCK, RpcClient, type Clock } from '@gatehouse/nest-kit';
import type { z } from 'zod';
import { AccountsRepository } from '../accounts/accounts.repository.js';
import { AuditRepository } from '../audit/audit.repository.js';
import { requireAccount } from '../accounts/require-account.js';
import type { Ledger } from '../audit/ledger.js';
import { UNIT_OF_WORK, type UnitOfWork } from '../database/unit-of-work.js';
import type { OrganizationEntity } from './organization.entity.js';
import { defaultOrganization, toOrganization } from './organization.record.js';
import { OrganizationsRepository, type OrganizationStore } from './organizations.repository.js';

type UpdateRequest = z.infer<typeof UpdateOrganization.request>;

export interface OrganizationPublisher {
  organizationChanged(event: OrganizationChanged): Promise<void>;
}

/** Announces a committed change; a lost publish is healed by the replicas' resync (revision gap). */
@Injectable()
export class NatsOrganizationPublisher implements OrganizationPublisher {
  private readonly logger = new Logger('OrganizationPublisher');
  constructor(private readonly rpc: RpcClient) {}
  async organizationChanged(event: OrganizationChanged): Promise<void> {
    try {
      await this.rpc.publish(OrganizationChangedEvent, event);
    } catch (error) {
      this.logger.warn(`Could not publish organization change (revision ${event.revision}): ${(error as Error).message}`);
    }
  }
}

/** The Access organization of each account: read (defaults until saved), update, audited and replicated. */
@Injectable()
export class OrganizationsService {
  constructor(
    @Inject(UNIT_OF_WORK) private readonly uow: UnitOfWork,
    @Inject(OrganizationsRepository) private readonly orgs: OrganizationStore,
    @Inject(AccountsRepository) private readonly accounts: Pick<AccountsRepository, 'findById'>,
    @Inject(AuditRepository) private readonly ledger: Ledger,
    @Inject(NatsOrganizationPublisher) private readonly publisher: OrganizationPublisher,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async get(accountId: string): Promise<Organization> {
    const account = await requireAccount(this.accounts, accountId);
    const org = await this.orgs.find(accountId);
    return org ? toOrganization(org) : defaultOrganization(accountId, account.name);
  }

  /** Omitted fields keep their value (inactivity fields one by one). */
  async update(req: UpdateRequest): Promise<Organization> {
    const account = await requireAccount(this.accounts, req.accountId);
    const event = await this.uow.run(async (tx) => {
      const now = this.clock.now();
      const existing = await this.orgs.findForUpdate(req.accountId, tx);
      const before = existing ? toOrganization(existing) : defaultOrganization(req.accountId, account.name);
      const inactivity = { ...before.serviceTokenInactivity, ...definedOnly(req.serviceTokenInactivity ?? {}) };
      const row: OrganizationEntity = {
        accountId: req.accountId,
        name: req.name ?? before.name,
        authDomain: req.authDomain !== undefined ? req.authDomain : before.authDomain,
        sessionDuration: req.sessionDuration ?? before.sessionDuration,
        strictServiceTokenAuth: req.strictServiceTokenAuth ?? before.strictServiceTokenAuth,
        inactivityEnabled: inactivity.enabled,
        inactivityThresholdDays: inactivity.inactivityThresholdDays,
        inactivityAction: inactivity.action,
        createdAt: existing?.createdAt ?? now,
        updatedAt: now,
      };
      await this.orgs.save(row, tx);
      const after = toOrganization(row);
      const revision = await this.ledger.bumpRevision(tx, [{ entity: 'organization', id: req.accountId, deleted: false }]);
      await this.ledger.append(tx, {
        accountId: req.accountId,
        action: 'access_organization.updated',
        actor: req.actor,
        resourceType: 'access_organization',
        resourceId: req.accountId,
        resourceName: after.name,
        occurredAt: now,
        metadata: changesBetween(before, after),
      });
      return { revision, occurredAt: now.toISOString(), organization: after };
    });
    await this.publisher.organizationChanged(event);
    return event.organization;
  }
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** `{ field: { from, to } }` for each field that changed (inactivity fields flattened). */
function changesBetween(a: Organization, b: Organization): Record<string, { from: unknown; to: unknown }> {
  const flat = (o: Organization) => ({
    name: o.name,
    authDomain: o.authDomain,
    sessionDuration: o.sessionDuration,
    strictServiceTokenAuth: o.strictServiceTokenAuth,
    'serviceTokenInactivity.enabled': o.serviceTokenInactivity.enabled,
    'serviceTokenInactivity.inactivityThresholdDays': o.serviceTokenInactivity.inactivityThresholdDays,
    'serviceTokenInactivity.action': o.serviceTokenInactivity.action,
  });
  const fa = flat(a) as Record<string, unknown>;
  const fb = flat(b) as Record<string, unknown>;
  return Object.fromEntries(
    Object.keys(fa)
      .filter((k) => fa[k] !== fb[k])
      .map((k) => [k, { from: fa[k], to: fb[k] }]),
  );
}
