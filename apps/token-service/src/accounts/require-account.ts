import { DomainError } from '@gatehouse/contracts';
import type { AccountEntity } from './account.entity.js';
import type { AccountsRepository } from './accounts.repository.js';

/** The account, or NOT_FOUND: every account-scoped operation starts here. */
export async function requireAccount(accounts: Pick<AccountsRepository, 'findById'>, accountId: string): Promise<AccountEntity> {
  const account = await accounts.findById(accountId);
  if (!account) throw new DomainError('NOT_FOUND', `Account ${accountId} not found`);
  return account;
}
