import { Inject, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { ClientProxyFactory, type ClientProxy } from '@nestjs/microservices';
import { natsAuth } from '@gatehouse/config';
import { ManagementLifecycle, RpcClient, loggingModule, natsOptions, natsReadiness } from '@gatehouse/nest-kit';
import type { Registry } from '@gatehouse/observability';
import { AccessRequestsController } from './access/access-requests.controller.js';
import { KeysController } from './access/keys.controller.js';
import { OrganizationsController } from './access/organizations.controller.js';
import { AccountsController } from './accounts/accounts.controller.js';
import { AlertingController } from './alerting/alerting.controller.js';
import { AppsController, TokenPoliciesController } from './apps/apps.controller.js';
import { ReusablePoliciesController } from './apps/policies.controller.js';
import { AuditController } from './audit/audit.controller.js';
import { API_ENV, type ApiEnv } from './config/env.js';
import { DocsController } from './docs/docs.controller.js';
import { HealthController } from './health.controller.js';
import { AdminAuthGuard } from './http/admin-auth.guard.js';
import { RPC } from './http/rpc.provider.js';
import { TokensController } from './tokens/tokens.controller.js';

const NATS_CLIENT = Symbol('NATS_CLIENT');

class Lifecycle implements OnApplicationShutdown {
  constructor(@Inject(NATS_CLIENT) private readonly nats: ClientProxy) {}
  async onApplicationShutdown(): Promise<void> {
    await this.nats.close();
  }
}

@Module({})
export class AppModule {
  static forRoot(env: ApiEnv, registry: Registry): DynamicModule {
    return {
      module: AppModule,
      imports: [loggingModule({ service: 'api', level: env.GATEHOUSE_LOG_LEVEL, format: env.GATEHOUSE_LOG_FORMAT })],
      controllers: [HealthController, DocsController, AccountsController, TokensController, AuditController, AppsController, TokenPoliciesController, ReusablePoliciesController, AlertingController, OrganizationsController, KeysController, AccessRequestsController],
      providers: [
        { provide: API_ENV, useValue: env },
        {
          provide: NATS_CLIENT,
          useFactory: async () => {
            const client = ClientProxyFactory.create(natsOptions(env.NATS_URL, 'api', undefined, natsAuth(env, 'api')));
            await client.connect();
            return client;
          },
        },
        { provide: RPC, useFactory: (proxy: ClientProxy) => new RpcClient(proxy, env.GATEHOUSE_RPC_TIMEOUT_MS), inject: [NATS_CLIENT] },
        AdminAuthGuard,
        Lifecycle,
        {
          provide: ManagementLifecycle,
          useFactory: (nats: ClientProxy) =>
            new ManagementLifecycle({
              host: env.GATEHOUSE_MANAGEMENT_HOST,
              port: env.GATEHOUSE_API_MANAGEMENT_PORT,
              registry,
              readiness: { nats: natsReadiness(nats) },
            }),
          inject: [NATS_CLIENT],
        },
      ],
    };
  }
}
