import { Inject, Logger, Module, type DynamicModule, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { ClientProxyFactory, type ClientNats, type ClientProxy } from '@nestjs/microservices';
import { natsAuth } from '@gatehouse/config';
import { ManagementLifecycle, RpcClient, loggingModule, natsOptions, natsReadiness } from '@gatehouse/nest-kit';
import { createServiceRegistry, type Registry } from '@gatehouse/observability';
import type { NatsConnection } from '@nats-io/transport-node';
import type { DataSource } from 'typeorm';
import { AccountDirectory } from './accounts/account-directory.js';
import { CLOCK, systemClock, type Clock } from './clock.js';
import { NOTIFICATION_ENV, redactUrl, type NotificationEnv } from './config/env.js';
import { createDataSource } from './database/data-source.js';
import { AlertScheduler, redactor } from './deliveries/alert.scheduler.js';
import { DeliveryMetrics } from './deliveries/delivery.metrics.js';
import { HistoryService } from './deliveries/history.service.js';
import { OutboxRepository } from './deliveries/outbox.repository.js';
import type { Mailer } from './mail/mailer.port.js';
import { SmtpMailer } from './mail/smtp.mailer.js';
import { AlertsHandler } from './policies/alerts.handler.js';
import { PoliciesRepository } from './policies/policies.repository.js';
import { PoliciesService } from './policies/policies.service.js';
import { TokenEventsHandler } from './tokens/token-events.handler.js';
import { TokenReplicaRepository } from './tokens/token-replica.repository.js';
import { SyncGate, TokenReplicaService } from './tokens/token-replica.service.js';
import { SecretBox } from './webhooks/secret-box.js';
import { WebhookSender } from './webhooks/webhook.sender.js';

export const DATA_SOURCE = Symbol('DATA_SOURCE');
export const NATS_CLIENT = Symbol('NATS_CLIENT');
export const RPC = Symbol('RPC');
export const MAILER = Symbol('MAILER');

export interface NotificationOptions {
  clock?: Clock;
  mailer?: Mailer;
  /** Where the service's metrics go (bootstrap passes the one its RPC interceptor also uses). */
  registry?: Registry;
}

/** SMTP user and password, as they appear in the URL and decoded: never stored in errors or logs. */
function smtpSecrets(url: string): string[] {
  const u = new URL(url);
  return [u.password, decodeURIComponent(u.password), u.username, decodeURIComponent(u.username)].filter(Boolean);
}

/** The server's max_payload as the client connection learnt it (1 MB, NATS's default, before it connected). */
function maxPayloadOf(nats: ClientNats): number {
  return nats.unwrap<NatsConnection>().info?.max_payload ?? 1_048_576;
}

class Lifecycle implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('notification-service');

  constructor(
    @Inject(NOTIFICATION_ENV) private readonly env: NotificationEnv,
    @Inject(DATA_SOURCE) private readonly dataSource: DataSource,
    @Inject(NATS_CLIENT) private readonly nats: ClientProxy,
    @Inject(MAILER) private readonly mailer: Mailer,
    @Inject(AlertScheduler) private readonly scheduler: AlertScheduler,
    @Inject(TokenReplicaService) private readonly replica: TokenReplicaService,
  ) {}

  onApplicationBootstrap(): void {
    this.logger.log(`Sending alert email through ${redactUrl(this.env.SMTP_URL)}; tick ${this.env.GATEHOUSE_NOTIFY_TICK_MS} ms`);
    this.scheduler.start();
    void this.replica.start().catch((e: Error) => this.logger.error(`Token replica did not start: ${e.message}`));
    // Events published while NATS was unreachable are lost (core NATS): pull as soon as it is back.
    (this.nats as ClientNats).on('reconnect', () => {
      this.logger.log('NATS reconnected; pulling token changes');
      void this.replica.resync();
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.replica.stop();
    await this.scheduler.stop();
    this.mailer.close();
    await this.nats.close();
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
  }
}

@Module({})
export class AppModule {
  static forRoot(env: NotificationEnv, options: NotificationOptions = {}): DynamicModule {
    const gate = new SyncGate();
    const registry = options.registry ?? createServiceRegistry('notification-service');
    return {
      module: AppModule,
      imports: [loggingModule({ service: 'notification-service', level: env.GATEHOUSE_LOG_LEVEL, format: env.GATEHOUSE_LOG_FORMAT })],
      controllers: [AlertsHandler, TokenEventsHandler],
      providers: [
        { provide: NOTIFICATION_ENV, useValue: env },
        { provide: CLOCK, useValue: options.clock ?? systemClock },
        { provide: DATA_SOURCE, useFactory: async () => createDataSource(env.DATABASE_URL).initialize() },
        {
          provide: NATS_CLIENT,
          useFactory: async () => {
            const client = ClientProxyFactory.create(natsOptions(env.NATS_URL, 'notification-service-client', undefined, natsAuth(env, 'notification-service')));
            await client.connect();
            return client;
          },
        },
        { provide: RPC, useFactory: (proxy: ClientProxy) => new RpcClient(proxy), inject: [NATS_CLIENT] },
        { provide: MAILER, useFactory: () => options.mailer ?? new SmtpMailer(env.SMTP_URL, env.GATEHOUSE_MAIL_FROM, env.GATEHOUSE_NOTIFY_CONCURRENCY) },
        { provide: SecretBox, useFactory: () => new SecretBox(env.GATEHOUSE_HASH_KEY) },
        { provide: AccountDirectory, useFactory: (rpc: RpcClient) => new AccountDirectory(rpc), inject: [RPC] },
        { provide: PoliciesRepository, useFactory: (ds: DataSource) => new PoliciesRepository(ds), inject: [DATA_SOURCE] },
        { provide: OutboxRepository, useFactory: (ds: DataSource) => new OutboxRepository(ds), inject: [DATA_SOURCE] },
        { provide: DeliveryMetrics, useFactory: (outbox: OutboxRepository, clock: Clock) => new DeliveryMetrics(registry, outbox, clock), inject: [OutboxRepository, CLOCK] },
        { provide: TokenReplicaRepository, useFactory: (ds: DataSource) => new TokenReplicaRepository(ds), inject: [DATA_SOURCE] },
        {
          provide: AlertScheduler,
          useFactory: (
            outbox: OutboxRepository,
            policies: PoliciesRepository,
            accounts: AccountDirectory,
            mailer: Mailer,
            secrets: SecretBox,
            clock: Clock,
            metrics: DeliveryMetrics,
          ) => {
            return new AlertScheduler(
              outbox,
              policies,
              accounts,
              mailer,
              new WebhookSender(env.GATEHOUSE_WEBHOOK_TIMEOUT_MS),
              secrets,
              clock,
              () => gate.synced,
              {
                tickMs: env.GATEHOUSE_NOTIFY_TICK_MS,
                leaseMs: env.GATEHOUSE_NOTIFY_LEASE_MS,
                retryBaseMs: env.GATEHOUSE_NOTIFY_RETRY_BASE_MS,
                retryMaxMs: env.GATEHOUSE_NOTIFY_RETRY_MAX_MS,
                maxAttempts: env.GATEHOUSE_NOTIFY_MAX_ATTEMPTS,
                batch: env.GATEHOUSE_NOTIFY_BATCH,
                concurrency: env.GATEHOUSE_NOTIFY_CONCURRENCY,
                publicUrl: env.GATEHOUSE_PUBLIC_URL,
                mailFrom: env.GATEHOUSE_MAIL_FROM,
              },
              redactor(smtpSecrets(env.SMTP_URL)),
              metrics,
            );
          },
          inject: [OutboxRepository, PoliciesRepository, AccountDirectory, MAILER, SecretBox, CLOCK, DeliveryMetrics],
        },
        {
          provide: TokenReplicaService,
          useFactory: (repo: TokenReplicaRepository, rpc: RpcClient, clock: Clock, scheduler: AlertScheduler, nats: ClientNats) =>
            new TokenReplicaService(repo, rpc, clock, scheduler, env.GATEHOUSE_NOTIFY_RESYNC_MS, gate, () => maxPayloadOf(nats)),
          inject: [TokenReplicaRepository, RPC, CLOCK, AlertScheduler, NATS_CLIENT],
        },
        {
          provide: PoliciesService,
          useFactory: (repo: PoliciesRepository, accounts: AccountDirectory, secrets: SecretBox, clock: Clock, scheduler: AlertScheduler) =>
            new PoliciesService(repo, accounts, secrets, clock, scheduler),
          inject: [PoliciesRepository, AccountDirectory, SecretBox, CLOCK, AlertScheduler],
        },
        {
          provide: HistoryService,
          useFactory: (outbox: OutboxRepository, accounts: AccountDirectory) => new HistoryService(outbox, accounts),
          inject: [OutboxRepository, AccountDirectory],
        },
        Lifecycle,
        {
          provide: ManagementLifecycle,
          useFactory: (ds: DataSource, nats: ClientProxy) =>
            new ManagementLifecycle({
              host: env.GATEHOUSE_MANAGEMENT_HOST,
              port: env.GATEHOUSE_NOTIFICATION_SERVICE_MANAGEMENT_PORT,
              registry,
              readiness: { database: async () => void (await ds.query('SELECT 1')), nats: natsReadiness(nats) },
            }),
          inject: [DATA_SOURCE, NATS_CLIENT],
        },
      ],
    };
  }
}
