import { Inject, Injectable, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { ClientProxyFactory, type ClientNats } from '@nestjs/microservices';
import type { NatsAuth } from '@gatehouse/config';
import type { NatsConnection } from '@nats-io/transport-node';
import { natsClientOptions } from './nats.js';
import { RpcClient } from './rpc.client.js';
import { NATS_CLIENT, RPC_TIMEOUT_MS } from './tokens.js';

export interface NatsClientOptions {
  url: string;
  /** The connection's name, as the NATS server's monitoring shows it. */
  name: string;
  auth?: NatsAuth;
  rpcTimeoutMs?: number;
}

/** What the NATS server told the client when it connected. */
@Injectable()
export class NatsServerLimits {
  constructor(@Inject(NATS_CLIENT) private readonly client: ClientNats) {}

  /** The server's max_payload (NATS's default, 1 MB, before the connection has learnt it): no message may exceed it. */
  maxPayload(): number {
    return this.client.unwrap<NatsConnection>().info?.max_payload ?? 1_048_576;
  }
}

@Injectable()
class NatsClientShutdown implements OnApplicationShutdown {
  constructor(@Inject(NATS_CLIENT) private readonly client: ClientNats) {}

  async onApplicationShutdown(): Promise<void> {
    await this.client.close();
  }
}

/**
 * The service's one NATS client connection, its RpcClient and the server's limits, for every
 * module (global). Nest stops the importing module first, so the connection closes after the
 * service's own providers have stopped.
 */
@Module({})
export class NatsClientModule {
  static forRoot(options: NatsClientOptions): DynamicModule {
    return {
      module: NatsClientModule,
      global: true,
      providers: [
        {
          provide: NATS_CLIENT,
          // A factory: the connection is awaited before anything that uses it is made.
          useFactory: async () => {
            const client = ClientProxyFactory.create(natsClientOptions(options.url, options.name, options.auth)) as ClientNats;
            await client.connect();
            return client;
          },
        },
        ...(options.rpcTimeoutMs === undefined ? [] : [{ provide: RPC_TIMEOUT_MS, useValue: options.rpcTimeoutMs }]),
        RpcClient,
        NatsServerLimits,
        NatsClientShutdown,
      ],
      exports: [NATS_CLIENT, RpcClient, NatsServerLimits],
    };
  }
}
