import { Inject, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { ClientProxyFactory, type ClientProxy } from '@nestjs/microservices';
import { RpcClient, natsOptions } from '@gatehouse/nest-kit';
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
  static forRoot(env: ApiEnv): DynamicModule {
    return {
      module: AppModule,
      controllers: [HealthController, DocsController, AccountsController, TokensController, AuditController, AppsController, TokenPoliciesController, ReusablePoliciesController, AlertingController],
      providers: [
        { provide: API_ENV, useValue: env },
        {
          provide: NATS_CLIENT,
          useFactory: async () => {
            const client = ClientProxyFactory.create(natsOptions(env.NATS_URL, 'api'));
            await client.connect();
            return client;
          },
        },
        { provide: RPC, useFactory: (proxy: ClientProxy) => new RpcClient(proxy, env.GATEHOUSE_RPC_TIMEOUT_MS), inject: [NATS_CLIENT] },
        AdminAuthGuard,
        Lifecycle,
      ],
    };
  }
}
