import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post, Put, Query, Req, UseGuards } from '@nestjs/common';
import {
  CreateApplication,
  CreatePolicy,
  DeleteApplication,
  DeletePolicy,
  GetApplication,
  GetPolicy,
  ListApplications,
  ListPolicies,
  PoliciesUsingToken,
  ReusablePoliciesUsingToken,
  DomainError,
  RevokeApplicationSessions,
  UpdateApplication,
  UpdatePolicy,
} from '@gatehouse/contracts';
import type { RpcClient } from '@gatehouse/nest-kit';
import type { Request } from 'express';
import { z } from 'zod';
import { actorOf } from '../http/actor.js';
import { AdminAuthGuard } from '../http/admin-auth.guard.js';
import { ok, okPage } from '../http/envelope.js';
import { PageQuery, body, query, uuidParam } from '../http/input.js';
import { RPC } from '../http/rpc.provider.js';
import { AppBody, PolicyBody, appFields, policyFields, toCfApp, toCfPolicy, toCfReusablePolicy, withCfPaths, type CfTokenPolicy } from './cf-apps.js';

export const ListAppsQuery = z.strictObject({ ...PageQuery });
export const ListPoliciesQuery = z.strictObject({ ...PageQuery });
export const RevokeSessionsBody = z.strictObject({});

/** One page of a list the token service returns whole (an app's policies are few). */
function pageOfAll<T>(all: T[], raw: unknown) {
  const q = query(ListPoliciesQuery, raw);
  const start = (q.page - 1) * q.per_page;
  return okPage(all.slice(start, start + q.per_page), { page: q.page, perPage: q.per_page, totalCount: all.length });
}

/** Access applications (self-hosted) and their Service Auth policies, in Cloudflare's v4 shape. */
@Controller('client/v4/accounts/:account_id/access/apps')
@UseGuards(AdminAuthGuard)
export class AppsController {
  constructor(@Inject(RPC) private readonly rpc: RpcClient) {}

  @Get()
  async list(@Param('account_id') accountId: string, @Query() raw: unknown) {
    const q = query(ListAppsQuery, raw);
    const page = await this.rpc.request(ListApplications, { accountId: uuidParam(accountId, 'account_id'), page: q.page, perPage: q.per_page });
    return okPage(page.items.map(toCfApp), page);
  }

  @Post()
  @HttpCode(200)
  async create(@Param('account_id') accountId: string, @Body() raw: unknown, @Req() req: Request) {
    const input = body(AppBody, raw);
    const app = await this.rpc.request(CreateApplication, { accountId: uuidParam(accountId, 'account_id'), ...appFields(input), actor: actorOf(req) });
    return ok(toCfApp(app));
  }

  @Get(':app_id')
  async get(@Param('account_id') accountId: string, @Param('app_id') appId: string) {
    return ok(toCfApp(await this.rpc.request(GetApplication, this.scope(accountId, appId))));
  }

  @Put(':app_id')
  async update(@Param('account_id') accountId: string, @Param('app_id') appId: string, @Body() raw: unknown, @Req() req: Request) {
    const scope = this.scope(accountId, appId);
    const input = body(AppBody, raw);
    return ok(toCfApp(await this.rpc.request(UpdateApplication, { ...scope, ...appFields(input), actor: actorOf(req) })));
  }

  /** Deletes the app and its policies. Cloudflare answers `{ id }`. */
  @Delete(':app_id')
  async remove(@Param('account_id') accountId: string, @Param('app_id') appId: string, @Req() req: Request) {
    const app = await this.rpc.request(DeleteApplication, { ...this.scope(accountId, appId), actor: actorOf(req) });
    return ok({ id: app.id });
  }

  /** "Revoke existing sessions": JWTs issued for this app before now stop working. Cloudflare answers `result: null`. */
  @Post(':app_id/revoke_tokens')
  @HttpCode(200)
  async revokeTokens(@Param('account_id') accountId: string, @Param('app_id') appId: string, @Body() raw: unknown, @Req() req: Request) {
    const scope = this.scope(accountId, appId);
    body(RevokeSessionsBody, raw);
    await this.rpc.request(RevokeApplicationSessions, { ...scope, actor: actorOf(req) });
    return ok(null);
  }

  @Get(':app_id/policies')
  async listPolicies(@Param('account_id') accountId: string, @Param('app_id') appId: string, @Query() raw: unknown) {
    const scope = this.scope(accountId, appId);
    query(ListPoliciesQuery, raw);
    const policies = await this.rpc.request(ListPolicies, scope);
    return pageOfAll(policies.map(toCfPolicy), raw);
  }

  @Post(':app_id/policies')
  @HttpCode(200)
  async createPolicy(@Param('account_id') accountId: string, @Param('app_id') appId: string, @Body() raw: unknown, @Req() req: Request) {
    const scope = this.scope(accountId, appId);
    const input = body(PolicyBody, raw);
    const policy = await withCfPaths(this.rpc.request(CreatePolicy, { ...scope, ...policyFields(input), actor: actorOf(req) }));
    return ok(toCfPolicy(policy));
  }

  @Get(':app_id/policies/:policy_id')
  async getPolicy(@Param('account_id') accountId: string, @Param('app_id') appId: string, @Param('policy_id') policyId: string) {
    return ok(toCfPolicy(await this.rpc.request(GetPolicy, this.policyScope(accountId, appId, policyId))));
  }

  /** Replaces name, decision and include; an omitted precedence, require or exclude keeps its value. */
  @Put(':app_id/policies/:policy_id')
  async updatePolicy(
    @Param('account_id') accountId: string,
    @Param('app_id') appId: string,
    @Param('policy_id') policyId: string,
    @Body() raw: unknown,
    @Req() req: Request,
  ) {
    const scope = this.policyScope(accountId, appId, policyId);
    const input = body(PolicyBody, raw);
    const policy = await withCfPaths(this.rpc.request(UpdatePolicy, { ...scope, ...policyFields(input), actor: actorOf(req) }));
    return ok(toCfPolicy(policy));
  }

  @Delete(':app_id/policies/:policy_id')
  async removePolicy(@Param('account_id') accountId: string, @Param('app_id') appId: string, @Param('policy_id') policyId: string, @Req() req: Request) {
    const policy = await this.rpc.request(DeletePolicy, { ...this.policyScope(accountId, appId, policyId), actor: actorOf(req) });
    return ok({ id: policy.id });
  }

  private scope(accountId: string, appId: string) {
    return { accountId: uuidParam(accountId, 'account_id'), appId: uuidParam(appId, 'app_id') };
  }

  private policyScope(accountId: string, appId: string, policyId: string) {
    return { ...this.scope(accountId, appId), policyId: uuidParam(policyId, 'policy_id') };
  }
}

/** Our extension: which policies name a service token (the dashboard's delete confirmation lists them). */
@Controller('client/v4/accounts/:account_id/access/service_tokens')
@UseGuards(AdminAuthGuard)
export class TokenPoliciesController {
  constructor(@Inject(RPC) private readonly rpc: RpcClient) {}

  @Get(':token_id/policies')
  async list(@Param('account_id') accountId: string, @Param('token_id') tokenId: string, @Query() raw: unknown) {
    const scope = { accountId: uuidParam(accountId, 'account_id'), tokenId: uuidParam(tokenId, 'token_id') };
    query(ListPoliciesQuery, raw);
    const [scoped, reusable] = await Promise.allSettled([this.rpc.request(PoliciesUsingToken, scope), this.rpc.request(ReusablePoliciesUsingToken, scope)]);
    if (reusable.status === 'rejected') throw reusable.reason;
    // NOT_FOUND from the app-scoped side means "no such token and no app-scoped policy naming it";
    // a reusable policy naming it (a deleted token's dangling rule) still answers.
    if (scoped.status === 'rejected' && !(reusable.value.length && scoped.reason instanceof DomainError && scoped.reason.code === 'NOT_FOUND'))
      throw scoped.reason;
    const items: Array<z.infer<typeof CfTokenPolicy>> = [
      ...(scoped.status === 'fulfilled' ? scoped.value : []).map((p) => ({ ...toCfPolicy(p), app_id: p.appId, app_name: p.appName })),
      ...reusable.value.map((p) => ({ ...toCfReusablePolicy(p), app_id: null, app_name: null })),
    ];
    return pageOfAll(items, raw);
  }
}
