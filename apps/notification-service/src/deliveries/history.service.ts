import type { AlertDelivery, Page } from '@gatehouse/contracts';
import { Inject, Injectable } from '@nestjs/common';
import { AccountDirectory } from '../accounts/account-directory.js';
import { OutboxRepository } from './outbox.repository.js';

/** What was sent, to whom, when, for which token, and how it went. */
@Injectable()
export class HistoryService {
  constructor(
    @Inject(OutboxRepository) private readonly outbox: Pick<OutboxRepository, 'history'>,
    @Inject(AccountDirectory) private readonly accounts: Pick<AccountDirectory, 'require'>,
  ) {}

  async list(accountId: string, filter: { tokenId?: string; since?: string; before?: string }, page: number, perPage: number): Promise<Page<AlertDelivery>> {
    await this.accounts.require(accountId);
    return this.outbox.history(accountId, filter, page, perPage);
  }
}
