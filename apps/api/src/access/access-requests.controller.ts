import { Controller, Get, Inject, Param, Query, UseGuards } from '@nestjs/common';
import { IsoDate, ListAccessRequests, RayId, Uuid, type AccessRequestRecord } from '@gatehouse/contracts';
import type { RpcClient } from '@gatehouse/nest-kit';
import { z } from 'zod';
import { AdminAuthGuard } from '../http/admin-auth.guard.js';
import { okPage } from '../http/envelope.js';
import { query, uuidParam } from '../http/input.js';
import { RPC } from '../http/rpc.provider.js';

/**
 * One gateway decision in Cloudflare's access request record shape. Service Auth has no user:
 * the token is named in `service_token_*`; `connection` is always `service_token`; `via` says
 * how it was presented (`service_token` headers, a `jwt`, or `forward_auth`). `ray_id` is the
 * decision id the gateway answered with in `Cf-Ray` (for an aggregated record, its first
 * request's); records from gateways before 0.2 derive it from the record id (16 hex). `count`
 * > 1: identical decisions the gateway aggregated in a second.
 */
export const CfAccessRequest = z
  .object({
    action: z.literal('login'),
    allowed: z.boolean(),
    app_domain: z.string().nullable(),
    app_uid: Uuid.nullable(),
    app_name: z.string().nullable(),
    connection: z.literal('service_token'),
    created_at: IsoDate,
    ip_address: z.string().nullable(),
    ray_id: z.string(),
    user_email: z.null(),
    service_token_id: Uuid.nullable(),
    service_token_name: z.string().nullable(),
    service_token_client_id: z.string().nullable(),
    via: z.string(),
    reason: z.string(),
    count: z.number().int(),
  })
  .meta({ id: 'AccessRequest' });

export function toCfAccessRequest(r: AccessRequestRecord): z.infer<typeof CfAccessRequest> {
  return {
    action: 'login',
    allowed: r.allowed,
    app_domain: r.appDomain,
    app_uid: r.appId,
    app_name: r.appName,
    connection: 'service_token',
    created_at: r.occurredAt,
    ip_address: r.sourceIp,
    ray_id: r.rayId ?? r.id.replace(/-/g, '').slice(0, 16),
    user_email: null,
    service_token_id: r.tokenId,
    service_token_name: r.tokenName,
    service_token_client_id: r.clientId,
    via: r.via,
    reason: r.reason,
    count: r.count,
  };
}

const Int = (min: number, max: number) => z.coerce.number({ message: 'must be a number' }).int('must be a whole number').min(min).max(max);
export const AccessRequestsQuery = z
  .strictObject({
    since: IsoDate.optional(),
    until: IsoDate.optional(),
    direction: z.enum(['asc', 'desc'], { message: 'must be "asc" or "desc"' }).default('desc'),
    limit: Int(1, 100_000).optional(),
    ray_id: RayId.optional(),
    page: Int(1, 1_000_000).default(1),
    per_page: Int(1, 1000).optional(),
  })
  .refine((q) => !q.since || !q.until || Date.parse(q.since) <= Date.parse(q.until), { message: 'must not be after until', path: ['since'] });

@Controller('client/v4/accounts/:account_id/access/logs/access_requests')
@UseGuards(AdminAuthGuard)
export class AccessRequestsController {
  constructor(@Inject(RPC) private readonly rpc: RpcClient) {}

  /** Newest first by default. `per_page` defaults to `limit`, else 25; `limit` caps the records in all. */
  @Get()
  async list(@Param('account_id') accountId: string, @Query() raw: unknown) {
    const q = query(AccessRequestsQuery, raw);
    const perPage = q.per_page ?? Math.min(q.limit ?? 25, 1000);
    const page = await this.rpc.request(ListAccessRequests, {
      accountId: uuidParam(accountId, 'account_id'),
      since: q.since,
      until: q.until,
      direction: q.direction,
      rayId: q.ray_id,
      limit: q.limit,
      page: q.page,
      perPage,
    });
    return okPage(page.items.map(toCfAccessRequest), page);
  }
}
