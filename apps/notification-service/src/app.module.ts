import { Inject, Injectable, Logger, Module, type DynamicModule, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { ClientNats } from '@nestjs/microservices';
import { natsAuth } from '@gatehouse/config';
import { CLOCK, ManagementLifecycle, NATS_CLIENT, NatsClientModule, loggingModule, natsReadiness, systemClock, type Clock } from '@gatehouse/nest-kit';
import { DatabaseModule } from '@gatehouse/persistence/nest';
import { Registry, createServiceRegistry } from '@gatehouse/observability';
import { DataSource } from 'typeorm';
import { AccountDirectory } from './accounts/account-directory.js';
import { NOTIFICATION_ENV, redactUrl, type NotificationEnv } from './config/env.js';
import { database } from './database/data-source.js';
import { AlertScheduler } from './deliveries/alert.scheduler.js';
import { DeliveryMetrics } from './deliveries/delivery.metrics.js';
import { HistoryService } from './deliveries/history.service.js';
import { OutboxRepository } from './deliveries/outbox.repository.js';
import { MAILER, type Mailer } from './mail/mailer.port.js';
import { SmtpMailer } from './mail/smtp.mailer.js';
import { AlertsHandler } from './policies/alerts.handler.js';
import { PoliciesRepository } from './policies/policies.repository.js';
import { PoliciesService } from './policies/policies.service.js';
import { SyncGate } from './tokens/sync-gate.js';
import { TokenEventsHandler } from './tokens/token-events.handler.js';
import { TokenReplicaRepository } from './tokens/token-replica.repository.js';
import { TokenReplicaService } from './tokens/token-replica.service.js';
import { SecretBox } from './webhooks/secret-box.js';
import { WebhookSender } from './webhooks/webhook.sender.js';

export interface NotificationOptions {
  clock?: Clock;
  mailer?: Mailer;
  /** Where the service's metrics go (bootstrap passes the one its RPC interceptor also uses). */
  registry?: Registry;
}

/**
 * Starts the scheduler and the token replica, and stops them in order: the replica, the
 * scheduler (its deliveries in flight), the mailer. NATS and the DataSource close after
 * (NatsClientModule, DatabaseModule).
 */
@Injectable()
class Lifecycle implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('notification-service');

  constructor(
    @Inject(NOTIFICATION_ENV) private readonly env: NotificationEnv,
    @Inject(NATS_CLIENT) private readonly nats: ClientNats,
    @Inject(MAILER) private readonly mailer: Mailer,
    private readonly scheduler: AlertScheduler,
    private readonly replica: TokenReplicaService,
  ) {}

  onApplicationBootstrap(): void {
    this.logger.log(`Sending alert email through ${redactUrl(this.env.SMTP_URL)}; tick ${this.env.GATEHOUSE_NOTIFY_TICK_MS} ms`);
    this.scheduler.start();
    void this.replica.start().catch((e: Error) => this.logger.error(`Token replica did not start: ${e.message}`));
    // Events published while NATS was unreachable are lost (core NATS): pull as soon as it is back.
    this.nats.on('reconnect', () => {
      this.logger.log('NATS reconnected; pulling token changes');
      void this.replica.resync();
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.replica.stop();
    await this.scheduler.stop();
    this.mailer.close();
  }
}

/** The management port: metrics, and ready while PostgreSQL and NATS answer. */
@Injectable()
class Management extends ManagementLifecycle {
  constructor(@Inject(NOTIFICATION_ENV) env: NotificationEnv, registry: Registry, dataSource: DataSource, @Inject(NATS_CLIENT) nats: ClientNats) {
    super({
      host: env.GATEHOUSE_MANAGEMENT_HOST,
      port: env.GATEHOUSE_NOTIFICATION_SERVICE_MANAGEMENT_PORT,
      registry,
      readiness: { database: async () => void (await dataSource.query('SELECT 1')), nats: natsReadiness(nats) },
    });
  }
}

@Module({})
export class AppModule {
  static forRoot(env: NotificationEnv, options: NotificationOptions = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [
        loggingModule({ service: 'notification-service', level: env.GATEHOUSE_LOG_LEVEL, format: env.GATEHOUSE_LOG_FORMAT }),
        DatabaseModule.forRoot(database, env.DATABASE_URL),
        NatsClientModule.forRoot({ url: env.NATS_URL, name: 'notification-service-client', auth: natsAuth(env, 'notification-service') }),
      ],
      controllers: [AlertsHandler, TokenEventsHandler],
      providers: [
        { provide: NOTIFICATION_ENV, useValue: env },
        { provide: CLOCK, useValue: options.clock ?? systemClock },
        { provide: Registry, useValue: options.registry ?? createServiceRegistry('notification-service') },
        { provide: MAILER, useValue: options.mailer ?? new SmtpMailer(env.SMTP_URL, env.GATEHOUSE_MAIL_FROM, env.GATEHOUSE_NOTIFY_CONCURRENCY) },
        { provide: SecretBox, useValue: new SecretBox(env.GATEHOUSE_HASH_KEY) },
        { provide: WebhookSender, useValue: new WebhookSender(env.GATEHOUSE_WEBHOOK_TIMEOUT_MS) },
        SyncGate,
        AccountDirectory,
        PoliciesRepository,
        OutboxRepository,
        TokenReplicaRepository,
        DeliveryMetrics,
        AlertScheduler,
        TokenReplicaService,
        PoliciesService,
        HistoryService,
        Lifecycle,
        Management,
      ],
    };
  }
}
