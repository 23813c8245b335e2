import { Body, Controller, Get, HttpCode, Inject, Param, Post, Query, UseGuards } from '@nestjs/common';
import { AccountName, CreateAccount, GetAccount, ListAccounts, type Account } from '@gatehouse/contracts';
import type { RpcClient } from '@gatehouse/nest-kit';
import { z } from 'zod';
import { AdminAuthGuard } from '../http/admin-auth.guard.js';
import { ok, okPage } from '../http/envelope.js';
import { PageQuery, body, query, uuidParam } from '../http/input.js';
import { RPC } from '../http/rpc.provider.js';
import { describeRoutes } from '../docs/registry.js';

const toCfAccount = (a: Account) => ({ id: a.id, name: a.name, type: 'standard', settings: {}, created_on: a.createdAt });

@Controller('client/v4/accounts')
@UseGuards(AdminAuthGuard)
export class AccountsController {
  constructor(@Inject(RPC) private readonly rpc: RpcClient) {}

  @Get()
  async list(@Query() raw: unknown) {
    const q = query(z.strictObject({ ...PageQuery, name: z.string().max(255).optional(), direction: z.enum(['asc', 'desc']).optional() }), raw);
    let accounts = await this.rpc.request(ListAccounts, {});
    if (q.name) accounts = accounts.filter((a) => a.name.toLowerCase().includes(q.name!.toLowerCase()));
    if (q.direction === 'desc') accounts.reverse();
    const start = (q.page - 1) * q.per_page;
    return okPage(accounts.slice(start, start + q.per_page).map(toCfAccount), { page: q.page, perPage: q.per_page, totalCount: accounts.length });
  }

  @Post()
  @HttpCode(200)
  async create(@Body() raw: unknown) {
    const input = body(z.strictObject({ name: AccountName, type: z.literal('standard').optional() }), raw);
    return ok(toCfAccount(await this.rpc.request(CreateAccount, { name: input.name })));
  }

  @Get(':account_id')
  async get(@Param('account_id') accountId: string) {
    return ok(toCfAccount(await this.rpc.request(GetAccount, { accountId: uuidParam(accountId, 'account_id') })));
  }
}

describeRoutes(
  { method: 'get', path: '/client/v4/accounts', summary: 'List accounts', tag: 'Accounts' },
  { method: 'post', path: '/client/v4/accounts', summary: 'Create an account', tag: 'Accounts', body: z.object({ name: AccountName }) },
  { method: 'get', path: '/client/v4/accounts/{account_id}', summary: 'Get an account', tag: 'Accounts' },
);
