import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post, Put, Query, Req, UseGuards } from '@nestjs/common';
import { CreateReusablePolicy, DeleteReusablePolicy, GetReusablePolicy, ListReusablePolicies, UpdateReusablePolicy } from '@gatehouse/contracts';
import type { RpcClient } from '@gatehouse/nest-kit';
import type { Request } from 'express';
import { z } from 'zod';
import { actorOf } from '../http/actor.js';
import { AdminAuthGuard } from '../http/admin-auth.guard.js';
import { ok, okPage } from '../http/envelope.js';
import { PageQuery, body, query, uuidParam } from '../http/input.js';
import { RPC } from '../http/rpc.provider.js';
import { ReusablePolicyBody, reusablePolicyFields, toCfReusablePolicy, withCfPaths } from './cf-apps.js';

export const ListReusablePoliciesQuery = z.strictObject({ ...PageQuery });

/** Reusable (account-level) Service Auth policies, linked from applications' `policies` (Cloudflare's `access/policies`). */
@Controller('client/v4/accounts/:account_id/access/policies')
@UseGuards(AdminAuthGuard)
export class ReusablePoliciesController {
  constructor(@Inject(RPC) private readonly rpc: RpcClient) {}

  @Get()
  async list(@Param('account_id') accountId: string, @Query() raw: unknown) {
    const q = query(ListReusablePoliciesQuery, raw);
    const page = await this.rpc.request(ListReusablePolicies, { accountId: uuidParam(accountId, 'account_id'), page: q.page, perPage: q.per_page });
    return okPage(page.items.map(toCfReusablePolicy), page);
  }

  @Post()
  @HttpCode(200)
  async create(@Param('account_id') accountId: string, @Body() raw: unknown, @Req() req: Request) {
    const account = uuidParam(accountId, 'account_id');
    const input = body(ReusablePolicyBody, raw);
    const policy = await withCfPaths(this.rpc.request(CreateReusablePolicy, { accountId: account, ...reusablePolicyFields(input), actor: actorOf(req) }));
    return ok(toCfReusablePolicy(policy));
  }

  @Get(':policy_id')
  async get(@Param('account_id') accountId: string, @Param('policy_id') policyId: string) {
    return ok(toCfReusablePolicy(await this.rpc.request(GetReusablePolicy, this.scope(accountId, policyId))));
  }

  /** Replaces name, decision and include; an omitted require, exclude or session_duration keeps its value. */
  @Put(':policy_id')
  async update(@Param('account_id') accountId: string, @Param('policy_id') policyId: string, @Body() raw: unknown, @Req() req: Request) {
    const scope = this.scope(accountId, policyId);
    const input = body(ReusablePolicyBody, raw);
    const policy = await withCfPaths(this.rpc.request(UpdateReusablePolicy, { ...scope, ...reusablePolicyFields(input), actor: actorOf(req) }));
    return ok(toCfReusablePolicy(policy));
  }

  /** Refused with a 400 naming the applications while any links the policy. Cloudflare answers `{ id }`. */
  @Delete(':policy_id')
  async remove(@Param('account_id') accountId: string, @Param('policy_id') policyId: string, @Req() req: Request) {
    const policy = await this.rpc.request(DeleteReusablePolicy, { ...this.scope(accountId, policyId), actor: actorOf(req) });
    return ok({ id: policy.id });
  }

  private scope(accountId: string, policyId: string) {
    return { accountId: uuidParam(accountId, 'account_id'), policyId: uuidParam(policyId, 'policy_id') };
  }
}
