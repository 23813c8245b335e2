import { Body, Controller, Get, HttpCode, Inject, Param, Post, Put, Req, UseGuards } from '@nestjs/common';
import {
  GetAccount,
  GetSigningKeys,
  IsoDate,
  KeyRotationIntervalDays,
  RotateSigningKeys,
  UpdateSigningKeys,
  type SigningKeysStatus,
} from '@gatehouse/contracts';
import type { RpcClient } from '@gatehouse/nest-kit';
import type { Request } from 'express';
import { z } from 'zod';
import { actorOf } from '../http/actor.js';
import { AdminAuthGuard } from '../http/admin-auth.guard.js';
import { ok } from '../http/envelope.js';
import { body, uuidParam } from '../http/input.js';
import { RPC } from '../http/rpc.provider.js';

/** Cloudflare's access/keys fields, plus Gatehouse's view of each key (`keys`, `next_key_rotation_at`, `activation_delay_seconds`). */
export const CfKeys = z
  .object({
    key_rotation_interval_days: z.number(),
    days_until_next_rotation: z.number().int(),
    last_key_rotation_at: IsoDate,
    next_key_rotation_at: IsoDate,
    activation_delay_seconds: z.number().int(),
    keys: z.array(z.object({ kid: z.string(), state: z.enum(['pending', 'active', 'previous']), created_at: IsoDate, activates_at: IsoDate })),
  })
  .meta({ id: 'AccessKeys' });

export function toCfKeys(s: SigningKeysStatus): z.infer<typeof CfKeys> {
  return {
    key_rotation_interval_days: s.keyRotationIntervalDays,
    days_until_next_rotation: s.daysUntilNextRotation,
    last_key_rotation_at: s.lastKeyRotationAt,
    next_key_rotation_at: s.nextKeyRotationAt,
    activation_delay_seconds: Math.ceil(s.activationDelayMs / 1000),
    keys: s.keys.map((k) => ({ kid: k.kid, state: k.state, created_at: k.createdAt, activates_at: k.activatesAt })),
  };
}

export const KeysBody = z.strictObject({ key_rotation_interval_days: KeyRotationIntervalDays });
export const RotateKeysBody = z.strictObject({});

/**
 * The JWT signing keys. One key ring signs for every account of this Gatehouse, so these routes
 * show and change the same keys under any account id (the account must exist).
 */
@Controller('client/v4/accounts/:account_id/access/keys')
@UseGuards(AdminAuthGuard)
export class KeysController {
  constructor(@Inject(RPC) private readonly rpc: RpcClient) {}

  @Get()
  async get(@Param('account_id') accountId: string) {
    await this.account(accountId);
    return ok(toCfKeys(await this.rpc.request(GetSigningKeys, {})));
  }

  @Put()
  async update(@Param('account_id') accountId: string, @Body() raw: unknown, @Req() req: Request) {
    await this.account(accountId);
    const input = body(KeysBody, raw);
    return ok(toCfKeys(await this.rpc.request(UpdateSigningKeys, { keyRotationIntervalDays: input.key_rotation_interval_days, actor: actorOf(req) })));
  }

  @Post('rotate')
  @HttpCode(200)
  async rotate(@Param('account_id') accountId: string, @Body() raw: unknown, @Req() req: Request) {
    await this.account(accountId);
    body(RotateKeysBody, raw);
    return ok(toCfKeys(await this.rpc.request(RotateSigningKeys, { actor: actorOf(req) })));
  }

  private account(accountId: string) {
    return this.rpc.request(GetAccount, { accountId: uuidParam(accountId, 'account_id') });
  }
}
