import type { Provider } from '@nestjs/common';
import type { RpcClient } from '@gatehouse/nest-kit';
import type { DataSource } from 'typeorm';
import { AccountsRepository } from '../accounts/accounts.repository.js';
import { AuditRepository } from '../audit/audit.repository.js';
import { TypeOrmUnitOfWork } from '../database/unit-of-work.js';
import type { Clock } from '../events/change-publisher.js';
import { TokensRepository } from '../tokens/tokens.repository.js';
import { NatsAppChangePublisher } from './app-change.publisher.js';
import { ApplicationsRepository, PoliciesRepository, readConsistent } from './applications.repository.js';
import { ApplicationsService } from './applications.service.js';
import { PoliciesService } from './policies.service.js';
import { ReplicaService } from './replica.service.js';
import { OrganizationsRepository } from '../organizations/organizations.repository.js';
import { toOrganization } from '../organizations/organization.record.js';
import { ReusablePoliciesRepository } from './reusable-policies.repository.js';
import { ReusablePoliciesService } from './reusable-policies.service.js';

/** Providers of access apps, policies and the replica snapshot; the app module passes its tokens. */
export function applicationProviders(deps: { dataSource: symbol; rpc: symbol; clock: symbol }): Provider[] {
  return [
    { provide: ApplicationsRepository, useFactory: (ds: DataSource) => new ApplicationsRepository(ds), inject: [deps.dataSource] },
    { provide: PoliciesRepository, useFactory: (ds: DataSource) => new PoliciesRepository(ds), inject: [deps.dataSource] },
    { provide: ReusablePoliciesRepository, useFactory: (ds: DataSource) => new ReusablePoliciesRepository(ds), inject: [deps.dataSource] },
    {
      provide: ApplicationsService,
      useFactory: (ds: DataSource, apps: ApplicationsRepository, policies: PoliciesRepository, reusable: ReusablePoliciesRepository, accounts: AccountsRepository, audit: AuditRepository, rpc: RpcClient, clock: Clock) =>
        new ApplicationsService(new TypeOrmUnitOfWork(ds), apps, policies, reusable, accounts, audit, new NatsAppChangePublisher(rpc), clock),
      inject: [deps.dataSource, ApplicationsRepository, PoliciesRepository, ReusablePoliciesRepository, AccountsRepository, AuditRepository, deps.rpc, deps.clock],
    },
    {
      provide: ReusablePoliciesService,
      useFactory: (ds: DataSource, reusable: ReusablePoliciesRepository, apps: ApplicationsRepository, policies: PoliciesRepository, accounts: AccountsRepository, audit: AuditRepository, rpc: RpcClient, clock: Clock) =>
        new ReusablePoliciesService(new TypeOrmUnitOfWork(ds), reusable, apps, policies, accounts, audit, new NatsAppChangePublisher(rpc), clock),
      inject: [deps.dataSource, ReusablePoliciesRepository, ApplicationsRepository, PoliciesRepository, AccountsRepository, AuditRepository, deps.rpc, deps.clock],
    },
    {
      provide: PoliciesService,
      useFactory: (ds: DataSource, apps: ApplicationsRepository, policies: PoliciesRepository, accounts: AccountsRepository, audit: AuditRepository, rpc: RpcClient, clock: Clock) =>
        new PoliciesService(new TypeOrmUnitOfWork(ds), apps, policies, accounts, audit, new NatsAppChangePublisher(rpc), clock),
      inject: [deps.dataSource, ApplicationsRepository, PoliciesRepository, AccountsRepository, AuditRepository, deps.rpc, deps.clock],
    },
    {
      provide: ReplicaService,
      useFactory: (ds: DataSource, audit: AuditRepository, tokens: TokensRepository, apps: ApplicationsRepository, policies: PoliciesRepository, orgs: OrganizationsRepository) =>
        new ReplicaService({
          readConsistent: (fn) => readConsistent(ds, fn),
          revision: (tx) => audit.currentRevision(tx),
          tokens: (tx) => tokens.all(undefined, tx),
          apps: (tx) => apps.all(tx),
          policies: (tx) => policies.all(tx),
          organizations: async (tx) => (await orgs.all(tx)).map(toOrganization),
        }),
      inject: [deps.dataSource, AuditRepository, TokensRepository, ApplicationsRepository, PoliciesRepository, OrganizationsRepository],
    },
  ];
}
