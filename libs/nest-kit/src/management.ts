import type { CallHandler, ExecutionContext, NestInterceptor, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { ClientProxy, NatsContext } from '@nestjs/microservices';
import { DomainError } from '@gatehouse/contracts';
import {
  Counter,
  Histogram,
  startManagementServer,
  type ManagementOptions,
  type ManagementServer,
  type ReadinessCheck,
  type Registry,
} from '@gatehouse/observability';
import { tap, type Observable } from 'rxjs';

/** The management port as a Nest provider: listens once the app has booted, closes on shutdown. */
export class ManagementLifecycle implements OnApplicationBootstrap, OnApplicationShutdown {
  private server?: ManagementServer;

  constructor(private readonly options: ManagementOptions) {}

  get url(): string | undefined {
    return this.server?.url;
  }

  async onApplicationBootstrap(): Promise<void> {
    this.server = await startManagementServer(this.options);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.server?.close();
  }
}

interface PingableConnection {
  isClosed(): boolean;
  flush(): Promise<void>;
}

/** Ready while the client's NATS connection answers a round trip (flush); a stopped server fails by timeout. */
export function natsReadiness(client: Pick<ClientProxy, 'unwrap'>): ReadinessCheck {
  return async () => {
    let nc: PingableConnection | null;
    try {
      nc = client.unwrap<PingableConnection>();
    } catch {
      nc = null;
    }
    if (!nc || nc.isClosed()) throw new Error('not connected');
    await nc.flush();
  };
}

/** Duration and errors of every RPC handled, by subject (NATS request/reply). */
export class RpcMetrics {
  readonly duration: Histogram<'subject'>;
  readonly errors: Counter<'subject' | 'code'>;

  constructor(registry: Registry) {
    this.duration = new Histogram({
      name: 'gatehouse_rpc_duration_seconds',
      help: 'Time to handle one NATS request, by subject',
      labelNames: ['subject'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    });
    this.errors = new Counter({
      name: 'gatehouse_rpc_errors_total',
      help: 'NATS requests answered with an error, by subject and error code',
      labelNames: ['subject', 'code'],
      registers: [registry],
    });
  }
}

const errorCode = (e: unknown) => (e instanceof DomainError ? e.code : 'INTERNAL');

/** Measures every RPC handler of a microservice (install with app.useGlobalInterceptors). */
export class RpcMetricsInterceptor implements NestInterceptor {
  constructor(private readonly metrics: RpcMetrics) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'rpc') return next.handle();
    const subject = context.switchToRpc().getContext<NatsContext>().getSubject();
    const stop = this.metrics.duration.startTimer({ subject });
    return next.handle().pipe(
      tap({
        complete: () => stop(),
        error: (e: unknown) => {
          stop();
          this.metrics.errors.inc({ subject, code: errorCode(e) });
        },
      }),
    );
  }
}
