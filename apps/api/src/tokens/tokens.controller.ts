import { Controller, Delete, Get, HttpCode, Inject, Param, Post, Put, Query, Req, UseGuards, Body } from '@nestjs/common';
import {
  CreateServiceToken,
  DeleteServiceToken,
  Duration,
  GetServiceToken,
  IsoDate,
  ListServiceTokens,
  RefreshServiceToken,
  RotateServiceToken,
  TokenName,
  UpdateServiceToken,
  Uuid,
  type ServiceToken,
  type ServiceTokenWithSecret,
} from '@gatehouse/contracts';
import type { RpcClient } from '@gatehouse/nest-kit';
import type { Request } from 'express';
import { z } from 'zod';
import { actorOf } from '../http/actor.js';
import { AdminAuthGuard } from '../http/admin-auth.guard.js';
import { ok, okPage } from '../http/envelope.js';
import { PageQuery, body, query, uuidParam } from '../http/input.js';
import { RPC } from '../http/rpc.provider.js';

/** A service token in Cloudflare's v4 field names. */
export const CfServiceToken = z
  .object({
    id: Uuid,
    client_id: z.string(),
    name: z.string(),
    duration: z.string(),
    created_at: IsoDate,
    updated_at: IsoDate,
    expires_at: IsoDate.nullable(),
    last_seen_at: IsoDate.nullable(),
    enabled: z.boolean(),
    client_secret_version: z.number().int(),
    previous_client_secret_expires_at: IsoDate.nullable(),
  })
  .meta({ id: 'ServiceToken' });
/** What create and rotate answer (and an update that rotated): the only time the secret is shown. */
export const CfServiceTokenWithSecret = CfServiceToken.extend({ client_secret: z.string() }).meta({ id: 'ServiceTokenWithSecret' });

export function toCfToken(t: ServiceToken): z.infer<typeof CfServiceToken> {
  return {
    id: t.id,
    client_id: t.clientId,
    name: t.name,
    duration: t.duration,
    created_at: t.createdAt,
    updated_at: t.updatedAt,
    expires_at: t.expiresAt,
    last_seen_at: t.lastSeenAt,
    enabled: t.enabled,
    client_secret_version: t.clientSecretVersion,
    previous_client_secret_expires_at: t.previousClientSecretExpiresAt,
  };
}
const withSecret = (t: ServiceTokenWithSecret): z.infer<typeof CfServiceTokenWithSecret> => ({ ...toCfToken(t), client_secret: t.clientSecret });

export const CreateTokenBody = z.strictObject({ name: TokenName, duration: Duration.optional(), enabled: z.boolean().optional() });
export const UpdateTokenBody = z.strictObject({
  name: TokenName.optional(),
  duration: Duration.optional(),
  enabled: z.boolean().optional(),
  previous_client_secret_expires_at: IsoDate.nullable().optional(),
  /** Greater than the current version: rotates (as POST …/rotate); equal: no change; lower: 400. */
  client_secret_version: z.number({ message: 'must be a number' }).int().min(1).max(2_147_483_647).optional(),
});
export const RefreshTokenBody = z.strictObject({});
export const RotateTokenBody = z.strictObject({ previous_client_secret_expires_at: IsoDate.optional() });
export const ListTokensQuery = z.strictObject({
  name: z.string().max(255).optional(),
  search: z.string().max(255).optional(),
  expires_after: IsoDate.optional(),
  expires_before: IsoDate.optional(),
  ...PageQuery,
});

@Controller('client/v4/accounts/:account_id/access/service_tokens')
@UseGuards(AdminAuthGuard)
export class TokensController {
  constructor(@Inject(RPC) private readonly rpc: RpcClient) {}

  @Post()
  @HttpCode(200)
  async create(@Param('account_id') accountId: string, @Body() raw: unknown, @Req() req: Request) {
    const input = body(CreateTokenBody, raw);
    const token = await this.rpc.request(CreateServiceToken, {
      accountId: uuidParam(accountId, 'account_id'),
      name: input.name,
      duration: input.duration,
      enabled: input.enabled,
      actor: actorOf(req),
    });
    return ok(withSecret(token));
  }

  @Get()
  async list(@Param('account_id') accountId: string, @Query() raw: unknown) {
    const q = query(ListTokensQuery, raw);
    const page = await this.rpc.request(ListServiceTokens, {
      accountId: uuidParam(accountId, 'account_id'),
      name: q.name,
      search: q.search,
      expiresAfter: q.expires_after,
      expiresBefore: q.expires_before,
      page: q.page,
      perPage: q.per_page,
    });
    return okPage(page.items.map(toCfToken), page);
  }

  @Get(':token_id')
  async get(@Param('account_id') accountId: string, @Param('token_id') tokenId: string) {
    const token = await this.rpc.request(GetServiceToken, {
      accountId: uuidParam(accountId, 'account_id'),
      tokenId: uuidParam(tokenId, 'token_id'),
    });
    return ok(toCfToken(token));
  }

  @Put(':token_id')
  async update(@Param('account_id') accountId: string, @Param('token_id') tokenId: string, @Body() raw: unknown, @Req() req: Request) {
    const input = body(UpdateTokenBody, raw);
    const token = await this.rpc.request(UpdateServiceToken, {
      accountId: uuidParam(accountId, 'account_id'),
      tokenId: uuidParam(tokenId, 'token_id'),
      name: input.name,
      duration: input.duration,
      enabled: input.enabled,
      previousClientSecretExpiresAt: input.previous_client_secret_expires_at,
      clientSecretVersion: input.client_secret_version,
      actor: actorOf(req),
    });
    // The new secret is in this response only when this update rotated it.
    return ok(token.clientSecret === undefined ? toCfToken(token) : withSecret({ ...token, clientSecret: token.clientSecret }));
  }

  @Delete(':token_id')
  async remove(@Param('account_id') accountId: string, @Param('token_id') tokenId: string, @Req() req: Request) {
    const token = await this.rpc.request(DeleteServiceToken, {
      accountId: uuidParam(accountId, 'account_id'),
      tokenId: uuidParam(tokenId, 'token_id'),
      actor: actorOf(req),
    });
    return ok(toCfToken(token));
  }

  @Post(':token_id/refresh')
  @HttpCode(200)
  async refresh(@Param('account_id') accountId: string, @Param('token_id') tokenId: string, @Body() raw: unknown, @Req() req: Request) {
    body(RefreshTokenBody, raw);
    const token = await this.rpc.request(RefreshServiceToken, {
      accountId: uuidParam(accountId, 'account_id'),
      tokenId: uuidParam(tokenId, 'token_id'),
      actor: actorOf(req),
    });
    return ok(toCfToken(token));
  }

  @Post(':token_id/rotate')
  @HttpCode(200)
  async rotate(@Param('account_id') accountId: string, @Param('token_id') tokenId: string, @Body() raw: unknown, @Req() req: Request) {
    const input = body(RotateTokenBody, raw);
    const token = await this.rpc.request(RotateServiceToken, {
      accountId: uuidParam(accountId, 'account_id'),
      tokenId: uuidParam(tokenId, 'token_id'),
      previousClientSecretExpiresAt: input.previous_client_secret_expires_at,
      actor: actorOf(req),
    });
    return ok(withSecret(token));
  }
}
