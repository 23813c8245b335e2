import { Body, Controller, Get, HttpCode, Inject, Param, Patch, Post, Put, Req, UseGuards } from '@nestjs/common';
import { AuthDomain, GetOrganization, InactivityAction, IsoDate, SessionDuration, UpdateOrganization, type Organization } from '@gatehouse/contracts';
import type { RpcClient } from '@gatehouse/nest-kit';
import type { Request } from 'express';
import { z } from 'zod';
import { actorOf } from '../http/actor.js';
import { AdminAuthGuard } from '../http/admin-auth.guard.js';
import { ok } from '../http/envelope.js';
import { body, uuidParam } from '../http/input.js';
import { RPC } from '../http/rpc.provider.js';

/** Cloudflare's Zero Trust organization shape (the fields Gatehouse has); the dates are null until it is saved. */
export const CfOrganization = z
  .object({
    name: z.string(),
    auth_domain: z.string().nullable(),
    session_duration: z.string(),
    strict_service_token_auth: z.boolean(),
    service_token_inactivity: z.object({ enabled: z.boolean(), inactivity_threshold_days: z.number().int(), action: z.enum(InactivityAction.options) }),
    created_at: IsoDate.nullable(),
    updated_at: IsoDate.nullable(),
  })
  .meta({ id: 'Organization' });

export function toCfOrganization(o: Organization): z.infer<typeof CfOrganization> {
  return {
    name: o.name,
    auth_domain: o.authDomain,
    session_duration: o.sessionDuration,
    strict_service_token_auth: o.strictServiceTokenAuth,
    service_token_inactivity: {
      enabled: o.serviceTokenInactivity.enabled,
      inactivity_threshold_days: o.serviceTokenInactivity.inactivityThresholdDays,
      action: o.serviceTokenInactivity.action,
    },
    created_at: o.createdAt,
    updated_at: o.updatedAt,
  };
}

const Threshold = z
  .number({ message: 'must be a number of days' })
  .int('must be a whole number of days')
  .min(30, 'must be at least 30')
  .max(365, 'must be at most 365');
const Inactivity = z.strictObject({ enabled: z.boolean(), inactivity_threshold_days: Threshold, action: InactivityAction });
const fields = {
  name: z.string().trim().min(1, 'must not be empty').max(255).optional(),
  auth_domain: AuthDomain.nullable().optional(),
  session_duration: SessionDuration.optional(),
  strict_service_token_auth: z.boolean().optional(),
};
/** PUT (and POST, the SDK's `create`): a given `service_token_inactivity` is complete. Omitted fields keep their value. */
export const OrganizationPutBody = z.strictObject({ ...fields, service_token_inactivity: Inactivity.optional() });
/** PATCH: `service_token_inactivity` may name only the fields it changes. */
export const OrganizationPatchBody = z.strictObject({ ...fields, service_token_inactivity: Inactivity.partial().optional() });

function toUpdate(b: z.infer<typeof OrganizationPatchBody>) {
  const i = b.service_token_inactivity;
  return {
    name: b.name,
    authDomain: b.auth_domain,
    sessionDuration: b.session_duration,
    strictServiceTokenAuth: b.strict_service_token_auth,
    serviceTokenInactivity: i && { enabled: i.enabled, inactivityThresholdDays: i.inactivity_threshold_days, action: i.action },
  };
}

/** The account's Access organization: strict service-token mode and inactivity cleanup. */
@Controller('client/v4/accounts/:account_id/access/organizations')
@UseGuards(AdminAuthGuard)
export class OrganizationsController {
  constructor(@Inject(RPC) private readonly rpc: RpcClient) {}

  @Get()
  async get(@Param('account_id') accountId: string) {
    return ok(toCfOrganization(await this.rpc.request(GetOrganization, { accountId: uuidParam(accountId, 'account_id') })));
  }

  @Put()
  async put(@Param('account_id') accountId: string, @Body() raw: unknown, @Req() req: Request) {
    return this.save(accountId, body(OrganizationPutBody, raw), req);
  }

  @Post()
  @HttpCode(200)
  async create(@Param('account_id') accountId: string, @Body() raw: unknown, @Req() req: Request) {
    return this.save(accountId, body(OrganizationPutBody, raw), req);
  }

  @Patch()
  async patch(@Param('account_id') accountId: string, @Body() raw: unknown, @Req() req: Request) {
    return this.save(accountId, body(OrganizationPatchBody, raw), req);
  }

  private async save(accountId: string, input: z.infer<typeof OrganizationPatchBody>, req: Request) {
    const id = uuidParam(accountId, 'account_id');
    return ok(toCfOrganization(await this.rpc.request(UpdateOrganization, { accountId: id, ...toUpdate(input), actor: actorOf(req) })));
  }
}
