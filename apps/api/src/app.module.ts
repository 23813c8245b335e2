import { Inject, Injectable, Module, type DynamicModule } from '@nestjs/common';
import type { ClientNats } from '@nestjs/microservices';
import { natsAuth } from '@gatehouse/config';
import { ManagementLifecycle, NATS_CLIENT, NatsClientModule, RpcClient, loggingModule, natsReadiness } from '@gatehouse/nest-kit';
import { Registry } from '@gatehouse/observability';
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

/** The management port: metrics, and ready while NATS answers (the API has no database). */
@Injectable()
class Management extends ManagementLifecycle {
  constructor(@Inject(API_ENV) env: ApiEnv, registry: Registry, @Inject(NATS_CLIENT) nats: ClientNats) {
    super({ host: env.GATEHOUSE_MANAGEMENT_HOST, port: env.GATEHOUSE_API_MANAGEMENT_PORT, registry, readiness: { nats: natsReadiness(nats) } });
  }
}

@Module({})
export class AppModule {
  static forRoot(env: ApiEnv, registry: Registry): DynamicModule {
    return {
      module: AppModule,
      imports: [
        loggingModule({ service: 'api', level: env.GATEHOUSE_LOG_LEVEL, format: env.GATEHOUSE_LOG_FORMAT }),
        NatsClientModule.forRoot({ url: env.NATS_URL, name: 'api', auth: natsAuth(env, 'api'), rpcTimeoutMs: env.GATEHOUSE_RPC_TIMEOUT_MS }),
      ],
      controllers: [
        HealthController,
        DocsController,
        AccountsController,
        TokensController,
        AuditController,
        AppsController,
        TokenPoliciesController,
        ReusablePoliciesController,
        AlertingController,
        OrganizationsController,
        KeysController,
        AccessRequestsController,
      ],
      providers: [
        { provide: API_ENV, useValue: env },
        { provide: Registry, useValue: registry },
        { provide: RPC, useExisting: RpcClient },
        AdminAuthGuard,
        Management,
      ],
    };
  }
}
