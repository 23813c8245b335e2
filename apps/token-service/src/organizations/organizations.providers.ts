import type { Provider } from '@nestjs/common';
import type { RpcClient } from '@gatehouse/nest-kit';
import type { DataSource } from 'typeorm';
import { AccountsRepository } from '../accounts/accounts.repository.js';
import { PoliciesService } from '../applications/policies.service.js';
import { ReusablePoliciesService } from '../applications/reusable-policies.service.js';
import { AccessRequestsRepository } from '../audit/access-requests.repository.js';
import { AuditRepository } from '../audit/audit.repository.js';
import { TypeOrmUnitOfWork } from '../database/unit-of-work.js';
import type { Clock } from '../events/change-publisher.js';
import { TokensService } from '../tokens/tokens.service.js';
import { InactiveTokensRepository } from './inactive-tokens.repository.js';
import { InactivitySweeper } from './inactivity.sweeper.js';
import { OrganizationsRepository } from './organizations.repository.js';
import { NatsOrganizationPublisher, OrganizationsService } from './organizations.service.js';

/** Providers of Access organizations, their inactivity cleanup and the access request log. */
export function organizationProviders(deps: { dataSource: symbol; rpc: symbol; clock: symbol; sweepIntervalMs: number }): Provider[] {
  return [
    { provide: OrganizationsRepository, useFactory: (ds: DataSource) => new OrganizationsRepository(ds), inject: [deps.dataSource] },
    { provide: AccessRequestsRepository, useFactory: (ds: DataSource) => new AccessRequestsRepository(ds), inject: [deps.dataSource] },
    {
      provide: OrganizationsService,
      useFactory: (ds: DataSource, orgs: OrganizationsRepository, accounts: AccountsRepository, audit: AuditRepository, rpc: RpcClient, clock: Clock) =>
        new OrganizationsService(new TypeOrmUnitOfWork(ds), orgs, accounts, audit, new NatsOrganizationPublisher(rpc), clock),
      inject: [deps.dataSource, OrganizationsRepository, AccountsRepository, AuditRepository, deps.rpc, deps.clock],
    },
    {
      provide: InactivitySweeper,
      useFactory: (ds: DataSource, orgs: OrganizationsRepository, tokens: TokensService, policies: PoliciesService, reusable: ReusablePoliciesService, clock: Clock) =>
        new InactivitySweeper(
          {
            orgs,
            inactive: new InactiveTokensRepository(ds),
            // Cloudflare's rule: a token a policy names directly is never cleaned up (app-scoped or reusable).
            namedByPolicy: async (accountId, tokenId) => (await policies.usingToken(accountId, tokenId)).length > 0 || (await reusable.usingToken(accountId, tokenId)).length > 0,
            retire: (accountId, tokenId, cutoff, action, actor) => tokens.retireInactive(accountId, tokenId, cutoff, action, actor),
            clock,
          },
          deps.sweepIntervalMs,
        ),
      inject: [deps.dataSource, OrganizationsRepository, TokensService, PoliciesService, ReusablePoliciesService, deps.clock],
    },
  ];
}
