import { Controller, Inject } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { CreateAccount, GetAccount, ListAccounts, type Account, type RequestOf } from '@gatehouse/contracts';
import { ContractPipe } from '@gatehouse/nest-kit';
import { AccountsRepository } from './accounts.repository.js';
import type { AccountEntity } from './account.entity.js';
import { requireAccount } from './require-account.js';

const toAccount = (a: AccountEntity): Account => ({ id: a.id, name: a.name, createdAt: a.createdAt.toISOString() });

@Controller()
export class AccountsHandler {
  constructor(@Inject(AccountsRepository) private readonly accounts: AccountsRepository) {}

  @MessagePattern(ListAccounts.subject)
  async list(@Payload(new ContractPipe(ListAccounts.request)) _req: RequestOf<typeof ListAccounts>) {
    return (await this.accounts.list()).map(toAccount);
  }

  @MessagePattern(GetAccount.subject)
  async get(@Payload(new ContractPipe(GetAccount.request)) req: RequestOf<typeof GetAccount>) {
    return toAccount(await requireAccount(this.accounts, req.accountId));
  }

  @MessagePattern(CreateAccount.subject)
  async create(@Payload(new ContractPipe(CreateAccount.request)) req: RequestOf<typeof CreateAccount>) {
    return toAccount(await this.accounts.create(req.name));
  }
}
