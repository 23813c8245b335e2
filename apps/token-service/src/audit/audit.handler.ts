import { Controller, Inject } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { ListAuditEvents, type AuditEvent, type RequestOf } from '@gatehouse/contracts';
import { ContractPipe } from '@gatehouse/nest-kit';
import { AccountsRepository } from '../accounts/accounts.repository.js';
import { AuditRepository } from './audit.repository.js';
import type { AuditEventEntity } from './audit-event.entity.js';
import { requireAccount } from '../accounts/require-account.js';

const toAuditEvent = (e: AuditEventEntity): AuditEvent => ({
  id: e.id,
  accountId: e.accountId,
  action: e.action,
  actor: e.actor,
  resourceType: e.resourceType,
  resourceId: e.resourceId,
  resourceName: e.resourceName,
  occurredAt: e.occurredAt.toISOString(),
  metadata: e.metadata,
});

@Controller()
export class AuditHandler {
  constructor(
    @Inject(AuditRepository) private readonly audit: AuditRepository,
    @Inject(AccountsRepository) private readonly accounts: AccountsRepository,
  ) {}

  @MessagePattern(ListAuditEvents.subject)
  async list(@Payload(new ContractPipe(ListAuditEvents.request)) req: RequestOf<typeof ListAuditEvents>) {
    await requireAccount(this.accounts, req.accountId);
    const page = req.page ?? 1;
    const perPage = req.perPage ?? 20;
    const { rows, total } = await this.audit.list(
      req.accountId,
      {
        resourceId: req.resourceId,
        tokenId: req.tokenId,
        action: req.action,
        since: req.since ? new Date(req.since) : undefined,
        before: req.before ? new Date(req.before) : undefined,
      },
      page,
      perPage,
    );
    return { items: rows.map(toAuditEvent), page, perPage, totalCount: total };
  }
}
