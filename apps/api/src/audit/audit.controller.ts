import { Controller, Get, Inject, Param, Query, UseGuards } from '@nestjs/common';
import { IsoDate, ListAuditEvents, Uuid, type AuditEvent } from '@gatehouse/contracts';
import type { RpcClient } from '@gatehouse/nest-kit';
import { z } from 'zod';
import { AdminAuthGuard } from '../http/admin-auth.guard.js';
import { okPage } from '../http/envelope.js';
import { PageQuery, query, uuidParam } from '../http/input.js';
import { RPC } from '../http/rpc.provider.js';

/** Cloudflare's account audit-log shape, plus `resource.name` (the token's name at the time). */
export const CfAuditEntry = z
  .object({
    id: Uuid,
    action: z.object({ type: z.string(), result: z.boolean() }),
    actor: z.object({ type: z.enum(['admin', 'system', 'service_token']), id: z.string(), ip: z.string().nullable() }),
    when: IsoDate,
    resource: z.object({ type: z.string(), id: z.string().nullable(), name: z.string().nullable() }),
    metadata: z.record(z.string(), z.unknown()),
  })
  .meta({ id: 'AuditEntry' });

const toCfAudit = (e: AuditEvent): z.infer<typeof CfAuditEntry> => ({
  id: e.id,
  action: { type: e.action, result: true },
  actor: { type: e.actor.type, id: e.actor.id, ip: e.actor.ip ?? null },
  when: e.occurredAt,
  resource: { type: e.resourceType, id: e.resourceId, name: e.resourceName },
  metadata: e.metadata,
});

export const AuditQuery = z.strictObject({
  'action.type': z.string().max(64).optional(),
  resource_id: z.string().max(255).optional(),
  token_id: Uuid.optional(),
  since: IsoDate.optional(),
  before: IsoDate.optional(),
  ...PageQuery,
});

@Controller('client/v4/accounts/:account_id/audit_logs')
@UseGuards(AdminAuthGuard)
export class AuditController {
  constructor(@Inject(RPC) private readonly rpc: RpcClient) {}

  @Get()
  async list(@Param('account_id') accountId: string, @Query() raw: unknown) {
    const q = query(AuditQuery, raw);
    const page = await this.rpc.request(ListAuditEvents, {
      accountId: uuidParam(accountId, 'account_id'),
      action: q['action.type'],
      resourceId: q.resource_id,
      tokenId: q.token_id,
      since: q.since,
      before: q.before,
      page: q.page,
      perPage: q.per_page,
    });
    return okPage(page.items.map(toCfAudit), page);
  }
}
