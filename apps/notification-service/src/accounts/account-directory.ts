import { DomainError, GetAccount, type Account } from '@gatehouse/contracts';
import { Inject, Injectable } from '@nestjs/common';
import { RpcClient } from '@gatehouse/nest-kit';

/**
 * Accounts live in the token service; this asks it over NATS (`accounts.v1.get`). Found accounts
 * are cached briefly (names go into emails); a missing account is a NOT_FOUND DomainError.
 */
@Injectable()
export class AccountDirectory {
  private readonly cache = new Map<string, { account: Account; until: number }>();
  private readonly ttlMs = 60_000;

  constructor(@Inject(RpcClient) private readonly rpc: Pick<RpcClient, 'request'>) {}

  async require(accountId: string): Promise<Account> {
    const hit = this.cache.get(accountId);
    if (hit && hit.until > Date.now()) return hit.account;
    const account = await this.rpc.request(GetAccount, { accountId });
    this.cache.set(accountId, { account, until: Date.now() + this.ttlMs });
    return account;
  }

  /** The account's name for a message; null if the account is gone. Throws UNAVAILABLE (retry later). */
  async nameOf(accountId: string): Promise<string | null> {
    try {
      return (await this.require(accountId)).name;
    } catch (error) {
      if (error instanceof DomainError && error.code === 'NOT_FOUND') return null;
      throw error;
    }
  }
}
