import type { Provider } from '@nestjs/common';
import type { ClientNats } from '@nestjs/microservices';
import type { NatsConnection } from '@nats-io/transport-node';
import type { RpcClient } from '@gatehouse/nest-kit';
import type { DataSource } from 'typeorm';
import { AccountsRepository } from '../accounts/accounts.repository.js';
import { AuditRepository } from '../audit/audit.repository.js';
import { TypeOrmUnitOfWork } from '../database/unit-of-work.js';
import type { Clock } from '../events/change-publisher.js';
import { NatsAppChangePublisher } from './app-change.publisher.js';
import { ApplicationsRepository, PoliciesRepository } from './applications.repository.js';
import { ApplicationsService } from './applications.service.js';
import { PoliciesService } from './policies.service.js';
import { ReplicaRepository } from './replica.repository.js';
import { ReplicaService } from './replica.service.js';
import { ReusablePoliciesRepository } from './reusable-policies.repository.js';
import { ReusablePoliciesService } from './reusable-policies.service.js';

/** Providers of access apps, policies and the replica's change feed; the app module passes its tokens. */
export function applicationProviders(deps: { dataSource: symbol; rpc: symbol; clock: symbol; nats: symbol }): Provider[] {
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
    { provide: ReplicaRepository, useFactory: (ds: DataSource) => new ReplicaRepository(ds), inject: [deps.dataSource] },
    {
      provide: ReplicaService,
      // Replies leave through the same nats-server: its max_payload bounds a page too.
      useFactory: (store: ReplicaRepository, nats: ClientNats) => new ReplicaService(store, () => nats.unwrap<NatsConnection>().info?.max_payload ?? 1_048_576),
      inject: [ReplicaRepository, deps.nats],
    },
  ];
}
