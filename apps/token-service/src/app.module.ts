import { Inject, Logger, Module, type DynamicModule, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { ClientProxyFactory, type ClientProxy } from '@nestjs/microservices';
import { natsAuth } from '@gatehouse/config';
import { ManagementLifecycle, RpcClient, loggingModule, natsOptions, natsReadiness } from '@gatehouse/nest-kit';
import { createServiceRegistry, type Registry } from '@gatehouse/observability';
import type { DataSource } from 'typeorm';
import { AccountsHandler } from './accounts/accounts.handler.js';
import { AccountsRepository } from './accounts/accounts.repository.js';
import { ApplicationsHandler } from './applications/applications.handler.js';
import { applicationProviders } from './applications/applications.providers.js';
import { ReplicaRepository } from './applications/replica.repository.js';
import { ReusablePoliciesHandler } from './applications/reusable-policies.handler.js';
import { AccessLogConsumer } from './audit/access-log.consumer.js';
import { AuditHandler } from './audit/audit.handler.js';
import { AuditRepository } from './audit/audit.repository.js';
import { TOKEN_SERVICE_ENV, type TokenServiceEnv } from './config/env.js';
import { createDataSource } from './database/data-source.js';
import { TypeOrmUnitOfWork } from './database/unit-of-work.js';
import { CLOCK, systemClock, type ChangePublisher, type Clock } from './events/change-publisher.js';
import { NatsChangePublisher } from './events/nats-change.publisher.js';
import { OrganizationsHandler } from './organizations/organizations.handler.js';
import { organizationProviders } from './organizations/organizations.providers.js';
import { TokensHandler } from './tokens/tokens.handler.js';
import { TokensRepository } from './tokens/tokens.repository.js';
import { TokensService } from './tokens/tokens.service.js';

export const DATA_SOURCE = Symbol('DATA_SOURCE');
export const NATS_CLIENT = Symbol('NATS_CLIENT');
export const RPC = Symbol('RPC');

class Lifecycle implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('token-service');
  private purgeTimer?: NodeJS.Timeout;

  constructor(
    @Inject(TOKEN_SERVICE_ENV) private readonly env: TokenServiceEnv,
    @Inject(DATA_SOURCE) private readonly dataSource: DataSource,
    @Inject(NATS_CLIENT) private readonly nats: ClientProxy,
    @Inject(ReplicaRepository) private readonly replica: ReplicaRepository,
  ) {}

  onApplicationBootstrap(): void {
    // Tombstones older than the retention go (a replica further behind reloads): checked hourly.
    const purge = () =>
      this.replica.purgeTombstones(new Date(Date.now() - this.env.GATEHOUSE_TOMBSTONE_RETENTION)).then(
        (n) => n && this.logger.log(`Purged ${n} tombstones older than the retention`),
        (e: Error) => this.logger.warn(`Tombstone purge failed: ${e.message}`),
      );
    this.purgeTimer = setInterval(() => void purge(), Math.min(3_600_000, this.env.GATEHOUSE_TOMBSTONE_RETENTION));
    this.purgeTimer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.purgeTimer);
    await this.nats.close();
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
  }
}

export interface TokenServiceOptions {
  clock?: Clock;
  /** Tests: replaces the token-event publisher (e.g. one that loses events, as a crash after commit would). */
  publisher?: ChangePublisher;
  registry?: Registry;
}

@Module({})
export class AppModule {
  static forRoot(env: TokenServiceEnv, options: TokenServiceOptions = {}): DynamicModule {
    const registry = options.registry ?? createServiceRegistry('token-service');
    return {
      module: AppModule,
      imports: [loggingModule({ service: 'token-service', level: env.GATEHOUSE_LOG_LEVEL, format: env.GATEHOUSE_LOG_FORMAT })],
      controllers: [TokensHandler, AccountsHandler, AuditHandler, ApplicationsHandler, ReusablePoliciesHandler, OrganizationsHandler],
      providers: [
        { provide: TOKEN_SERVICE_ENV, useValue: env },
        { provide: CLOCK, useValue: options.clock ?? systemClock },
        {
          provide: DATA_SOURCE,
          useFactory: async () => createDataSource(env.DATABASE_URL).initialize(),
        },
        {
          provide: NATS_CLIENT,
          useFactory: async () => {
            const client = ClientProxyFactory.create(natsOptions(env.NATS_URL, 'token-service-publisher', undefined, natsAuth(env, 'token-service')));
            await client.connect();
            return client;
          },
        },
        { provide: RPC, useFactory: (proxy: ClientProxy) => new RpcClient(proxy), inject: [NATS_CLIENT] },
        { provide: AccountsRepository, useFactory: (ds: DataSource) => new AccountsRepository(ds), inject: [DATA_SOURCE] },
        { provide: AuditRepository, useFactory: (ds: DataSource) => new AuditRepository(ds), inject: [DATA_SOURCE] },
        { provide: AccessLogConsumer, useFactory: (audit: AuditRepository) => new AccessLogConsumer(env.NATS_URL, natsAuth(env, 'token-service'), audit, env.GATEHOUSE_ACCESS_LOG_REPLICAS), inject: [AuditRepository] },
        { provide: TokensRepository, useFactory: (ds: DataSource) => new TokensRepository(ds), inject: [DATA_SOURCE] },
        {
          provide: TokensService,
          useFactory: (ds: DataSource, tokens: TokensRepository, accounts: AccountsRepository, audit: AuditRepository, rpc: RpcClient, clock: Clock) =>
            new TokensService(new TypeOrmUnitOfWork(ds), tokens, accounts, audit, options.publisher ?? new NatsChangePublisher(rpc), clock, env.GATEHOUSE_HASH_KEY),
          inject: [DATA_SOURCE, TokensRepository, AccountsRepository, AuditRepository, RPC, CLOCK],
        },
        ...applicationProviders({ dataSource: DATA_SOURCE, rpc: RPC, clock: CLOCK, nats: NATS_CLIENT }),
        ...organizationProviders({ dataSource: DATA_SOURCE, rpc: RPC, clock: CLOCK, sweepIntervalMs: env.GATEHOUSE_INACTIVITY_SWEEP_INTERVAL_MS ?? 3_600_000 }),
        Lifecycle,
        {
          provide: ManagementLifecycle,
          useFactory: (ds: DataSource, nats: ClientProxy) =>
            new ManagementLifecycle({
              host: env.GATEHOUSE_MANAGEMENT_HOST,
              port: env.GATEHOUSE_TOKEN_SERVICE_MANAGEMENT_PORT,
              registry,
              readiness: { database: async () => void (await ds.query('SELECT 1')), nats: natsReadiness(nats) },
            }),
          inject: [DATA_SOURCE, NATS_CLIENT],
        },
      ],
    };
  }
}
