import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AccountEntity } from './account.entity.js';

@Injectable()
export class AccountsRepository {
  constructor(private readonly dataSource: DataSource) {}

  list(): Promise<AccountEntity[]> {
    return this.dataSource.manager.find(AccountEntity, { order: { createdAt: 'ASC', id: 'ASC' } });
  }

  findById(accountId: string): Promise<AccountEntity | null> {
    return this.dataSource.manager.findOneBy(AccountEntity, { id: accountId });
  }

  create(name: string): Promise<AccountEntity> {
    return this.dataSource.manager.save(AccountEntity, this.dataSource.manager.create(AccountEntity, { name }));
  }
}
