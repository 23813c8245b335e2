import { Body, Controller, Get, HttpCode, Inject, Param, Post, Query, UseGuards } from '@nestjs/common';
import { AccountName, CreateAccount, GetAccount, IsoDate, ListAccounts, Uuid, type Account } from '@gatehouse/contracts';
import type { RpcClient } from '@gatehouse/nest-kit';
import { z } from 'zod';
import { AdminAuthGuard } from '../http/admin-auth.guard.js';
import { ok, okPage } from '../http/envelope.js';
import { PageQuery, body, query, uuidParam } from '../http/input.js';
import { RPC } from '../http/rpc.provider.js';

export const CfAccount = z
  .object({ id: Uuid, name: z.string(), type: z.literal('standard'), settings: z.object({}), created_on: IsoDate })
  .meta({ id: 'Account' });
export const ListAccountsQuery = z.strictObject({ ...PageQuery, name: z.string().max(255).optional(), direction: z.enum(['asc', 'desc']).optional() });
export const CreateAccountBody = z.strictObject({ name: AccountName, type: z.literal('standard').optional() });

const toCfAccount = (a: Account): z.infer<typeof CfAccount> => ({ id: a.id, name: a.name, type: 'standard', settings: {}, created_on: a.createdAt });

@Controller('client/v4/accounts')
@UseGuards(AdminAuthGuard)
export class AccountsController {
  constructor(@Inject(RPC) private readonly rpc: RpcClient) {}

  @Get()
  async list(@Query() raw: unknown) {
    const q = query(ListAccountsQuery, raw);
    let accounts = await this.rpc.request(ListAccounts, {});
    if (q.name) accounts = accounts.filter((a) => a.name.toLowerCase().includes(q.name!.toLowerCase()));
    if (q.direction === 'desc') accounts.reverse();
    const start = (q.page - 1) * q.per_page;
    return okPage(accounts.slice(start, start + q.per_page).map(toCfAccount), { page: q.page, perPage: q.per_page, totalCount: accounts.length });
  }

  @Post()
  @HttpCode(200)
  async create(@Body() raw: unknown) {
    const input = body(CreateAccountBody, raw);
    return ok(toCfAccount(await this.rpc.request(CreateAccount, { name: input.name })));
  }

  @Get(':account_id')
  async get(@Param('account_id') accountId: string) {
    return ok(toCfAccount(await this.rpc.request(GetAccount, { accountId: uuidParam(accountId, 'account_id') })));
  }
}
