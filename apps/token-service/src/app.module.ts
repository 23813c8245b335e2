import { Inject, Injectable, Logger, Module, type DynamicModule, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { ClientProxy } from '@nestjs/microservices';
import { natsAuth } from '@gatehouse/config';
import { CLOCK, ManagementLifecycle, NATS_CLIENT, NatsClientModule, loggingModule, natsReadiness, systemClock, type Clock } from '@gatehouse/nest-kit';
import { DatabaseModule } from '@gatehouse/persistence/nest';
import { Registry, createServiceRegistry } from '@gatehouse/observability';
import { DataSource } from 'typeorm';
import { AccountsHandler } from './accounts/accounts.handler.js';
import { AccountsRepository } from './accounts/accounts.repository.js';
import { NatsAppChangePublisher } from './applications/app-change.publisher.js';
import { ApplicationsHandler } from './applications/applications.handler.js';
import { ApplicationsRepository, PoliciesRepository } from './applications/applications.repository.js';
import { ApplicationsService } from './applications/applications.service.js';
import { PoliciesService } from './applications/policies.service.js';
import { ReplicaRepository } from './applications/replica.repository.js';
import { ReplicaService } from './applications/replica.service.js';
import { ReusablePoliciesHandler } from './applications/reusable-policies.handler.js';
import { ReusablePoliciesRepository } from './applications/reusable-policies.repository.js';
import { ReusablePoliciesService } from './applications/reusable-policies.service.js';
import { AccessLogConsumer } from './audit/access-log.consumer.js';
import { AccessRequestsRepository } from './audit/access-requests.repository.js';
import { AuditHandler } from './audit/audit.handler.js';
import { AuditRepository } from './audit/audit.repository.js';
import { TOKEN_SERVICE_ENV, type TokenServiceEnv } from './config/env.js';
import { database } from './database/data-source.js';
import { TypeOrmUnitOfWork, UNIT_OF_WORK } from './database/unit-of-work.js';
import { CHANGE_PUBLISHER, type ChangePublisher } from './events/change-publisher.js';
import { NatsChangePublisher } from './events/nats-change.publisher.js';
import { InactiveTokensRepository } from './organizations/inactive-tokens.repository.js';
import { InactivitySources, InactivitySweeper } from './organizations/inactivity.sweeper.js';
import { OrganizationsHandler } from './organizations/organizations.handler.js';
import { OrganizationsRepository } from './organizations/organizations.repository.js';
import { NatsOrganizationPublisher, OrganizationsService } from './organizations/organizations.service.js';
import { TokensHandler } from './tokens/tokens.handler.js';
import { TokensRepository } from './tokens/tokens.repository.js';
import { TokensService } from './tokens/tokens.service.js';

/** Tombstones older than the retention go (a replica further behind reloads): checked hourly. */
@Injectable()
class TombstonePurge implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('token-service');
  private timer?: NodeJS.Timeout;

  constructor(
    @Inject(TOKEN_SERVICE_ENV) private readonly env: TokenServiceEnv,
    private readonly replica: ReplicaRepository,
  ) {}

  onApplicationBootstrap(): void {
    const purge = () =>
      this.replica.purgeTombstones(new Date(Date.now() - this.env.GATEHOUSE_TOMBSTONE_RETENTION)).then(
        (n) => n && this.logger.log(`Purged ${n} tombstones older than the retention`),
        (e: Error) => this.logger.warn(`Tombstone purge failed: ${e.message}`),
      );
    this.timer = setInterval(() => void purge(), Math.min(3_600_000, this.env.GATEHOUSE_TOMBSTONE_RETENTION));
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }
}

/** The management port: metrics, and ready while PostgreSQL and NATS answer. */
@Injectable()
class Management extends ManagementLifecycle {
  constructor(@Inject(TOKEN_SERVICE_ENV) env: TokenServiceEnv, registry: Registry, dataSource: DataSource, @Inject(NATS_CLIENT) nats: ClientProxy) {
    super({
      host: env.GATEHOUSE_MANAGEMENT_HOST,
      port: env.GATEHOUSE_TOKEN_SERVICE_MANAGEMENT_PORT,
      registry,
      readiness: { database: async () => void (await dataSource.query('SELECT 1')), nats: natsReadiness(nats) },
    });
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
    return {
      module: AppModule,
      imports: [
        loggingModule({ service: 'token-service', level: env.GATEHOUSE_LOG_LEVEL, format: env.GATEHOUSE_LOG_FORMAT }),
        DatabaseModule.forRoot(database, env.DATABASE_URL),
        NatsClientModule.forRoot({ url: env.NATS_URL, name: 'token-service-publisher', auth: natsAuth(env, 'token-service') }),
      ],
      controllers: [TokensHandler, AccountsHandler, AuditHandler, ApplicationsHandler, ReusablePoliciesHandler, OrganizationsHandler],
      providers: [
        { provide: TOKEN_SERVICE_ENV, useValue: env },
        { provide: CLOCK, useValue: options.clock ?? systemClock },
        { provide: Registry, useValue: options.registry ?? createServiceRegistry('token-service') },
        { provide: UNIT_OF_WORK, useClass: TypeOrmUnitOfWork },
        options.publisher ? { provide: CHANGE_PUBLISHER, useValue: options.publisher } : { provide: CHANGE_PUBLISHER, useClass: NatsChangePublisher },
        NatsAppChangePublisher,
        NatsOrganizationPublisher,
        AccountsRepository,
        AuditRepository,
        AccessRequestsRepository,
        TokensRepository,
        ApplicationsRepository,
        PoliciesRepository,
        ReusablePoliciesRepository,
        ReplicaRepository,
        OrganizationsRepository,
        InactiveTokensRepository,
        TokensService,
        ApplicationsService,
        PoliciesService,
        ReusablePoliciesService,
        ReplicaService,
        OrganizationsService,
        InactivitySources,
        InactivitySweeper,
        AccessLogConsumer,
        TombstonePurge,
        Management,
      ],
    };
  }
}
