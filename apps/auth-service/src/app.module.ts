import { Inject, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { ClientProxyFactory, type ClientNats, type ClientProxy } from '@nestjs/microservices';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { AccessDecisionsRecorded, TokensSeen, ensureAccessLogStream, parseOrThrow } from '@gatehouse/contracts';
import { natsAuth } from '@gatehouse/config';
import { RpcClient, natsOptions } from '@gatehouse/nest-kit';
import type pg from 'pg';
import type { AuthServiceEnv } from './config/env.js';
import { GatewayHost, type NatsLink } from './gateway/gateway.host.js';
import { DEFAULT_RECORDER_LIMITS, Recorder } from './gateway/recorder.js';
import { createPool } from './keys/database.js';
import { deriveEncryptionKey } from './keys/key-crypto.js';
import { KeyRing } from './keys/key-ring.js';
import { SigningKeysController, SigningKeysHandler } from './keys/keys.handler.js';
import { Replica } from './replica/replica.js';
import { ReplicaEventsHandler } from './replica/replica-events.handler.js';
import { ReplicaSync, type Log } from './replica/replica-sync.js';

const POOL = Symbol('POOL');
const NATS_CLIENT = Symbol('NATS_CLIENT');
const NATS_LINK = Symbol('NATS_LINK');
const RPC = Symbol('RPC');

/**
 * The NATS client connection of @nestjs/microservices, as the gateway uses it: RPCs and core
 * events through RpcClient; JetStream (the access log) on the same NatsConnection underneath,
 * because Nest's transport has no JetStream publish with acknowledgement.
 */
class NestNatsLink implements NatsLink {
  connected = true;

  constructor(private readonly client: ClientNats) {
    client.on('disconnect', () => (this.connected = false));
    client.on('reconnect', () => (this.connected = true));
  }

  get nc(): NatsConnection {
    return this.client.unwrap<NatsConnection>();
  }

  maxPayload(): number {
    return this.nc.info?.max_payload ?? 1_048_576;
  }

  async ensureAccessLogStream(replicas?: number): Promise<void> {
    await ensureAccessLogStream((await jetstreamManager(this.nc)).streams, replicas);
  }

  /** Resolves once the stream stored the batch; `msgId` makes a re-publish in the duplicate window a no-op. */
  async publishDurable(payload: unknown, msgId: string, timeoutMs = 5000): Promise<void> {
    const data = parseOrThrow(AccessDecisionsRecorded.payload, payload);
    // The packet format of @nestjs/microservices events ({ pattern, data }): the token service's consumer reads it.
    await jetstream(this.nc).publish(AccessDecisionsRecorded.subject, JSON.stringify({ pattern: AccessDecisionsRecorded.subject, data }), { msgID: msgId, timeout: timeoutMs });
  }
}

class Lifecycle implements OnApplicationShutdown {
  constructor(
    @Inject(NATS_CLIENT) private readonly nats: ClientNats,
    @Inject(POOL) private readonly pool: pg.Pool,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    await this.nats.close();
    await this.pool.end();
  }
}

@Module({})
export class AppModule {
  static forRoot(env: AuthServiceEnv, log: Log): DynamicModule {
    return {
      module: AppModule,
      controllers: [ReplicaEventsHandler, SigningKeysController],
      providers: [
        { provide: POOL, useFactory: () => createPool(env.DATABASE_URL) },
        {
          provide: KeyRing,
          useFactory: async (pool: pg.Pool) => {
            const keys = new KeyRing(pool, deriveEncryptionKey(env.GATEHOUSE_KEY_ENCRYPTION_KEY ?? env.GATEHOUSE_HASH_KEY), env.GATEHOUSE_KEY_ROTATION_INTERVAL, env.GATEHOUSE_TEAM_URL);
            try {
              await keys.init();
            } catch (error) {
              await pool.end();
              throw new Error(`auth-service: cannot load signing keys (did the migration run?): ${(error as Error).message}`, { cause: error });
            }
            keys.start((e) => log.warn(`Signing key refresh failed (keeping the loaded keys): ${e.message}`));
            return keys;
          },
          inject: [POOL],
        },
        {
          provide: NATS_CLIENT,
          useFactory: async () => {
            // Its own reply inbox prefix (natsAuth): the JetStream publishes on this connection use it too.
            const client = ClientProxyFactory.create(natsOptions(env.NATS_URL, 'auth-service-client', undefined, natsAuth(env, 'auth-service'))) as ClientNats;
            await client.connect();
            return client;
          },
        },
        { provide: NATS_LINK, useFactory: (client: ClientNats) => new NestNatsLink(client), inject: [NATS_CLIENT] },
        { provide: RPC, useFactory: (client: ClientNats) => new RpcClient(client as unknown as ClientProxy), inject: [NATS_CLIENT] },
        { provide: Replica, useFactory: () => new Replica() },
        {
          provide: ReplicaSync,
          useFactory: (rpc: RpcClient, replica: Replica, link: NestNatsLink, client: ClientNats) => {
            const sync = new ReplicaSync(rpc, replica, env.GATEHOUSE_RESYNC_INTERVAL_MS, () => link.maxPayload(), log);
            client.on('reconnect', () => sync.onReconnect());
            return sync;
          },
          inject: [RPC, Replica, NATS_LINK, NATS_CLIENT],
        },
        {
          provide: Recorder,
          useFactory: (rpc: RpcClient, link: NestNatsLink) =>
            new Recorder({
              publishSeen: (p) => void rpc.publish(TokensSeen, p).catch((e: Error) => log.warn(`Could not publish last-seen times: ${e.message}`)),
              publishDecisions: (p) => link.publishDurable(p, p.batchId),
            }, 1000, { ...DEFAULT_RECORDER_LIMITS, maxBatch: env.GATEHOUSE_ACCESS_LOG_MAX_DISTINCT_PER_SECOND }),
          inject: [RPC, NATS_LINK],
        },
        {
          provide: GatewayHost,
          useFactory: (keys: KeyRing, replica: Replica, sync: ReplicaSync, recorder: Recorder, link: NestNatsLink) => new GatewayHost(env, log, keys, replica, sync, recorder, link),
          inject: [KeyRing, Replica, ReplicaSync, Recorder, NATS_LINK],
        },
        // access/keys (get, interval, rotate now): answered by one gateway replica over NATS.
        { provide: SigningKeysHandler, useFactory: (keys: KeyRing) => new SigningKeysHandler(keys, log), inject: [KeyRing] },
        Lifecycle,
      ],
    };
  }
}
