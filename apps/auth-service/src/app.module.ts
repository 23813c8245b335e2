import { Inject, Injectable, Module, type DynamicModule, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type { ClientNats } from '@nestjs/microservices';
import { TokensSeen } from '@gatehouse/contracts';
import { natsAuth } from '@gatehouse/config';
import { NATS_CLIENT, NatsClientModule, NatsServerLimits, RpcClient } from '@gatehouse/nest-kit';
import pg from 'pg';
import { AUTH_SERVICE_ENV, type AuthServiceEnv } from './config/env.js';
import { createPool } from './database/pool.js';
import { GatewayHost, NATS_LINK } from './gateway/gateway.host.js';
import { DEFAULT_RECORDER_LIMITS, Recorder } from './gateway/recorder.js';
import { deriveEncryptionKey } from './keys/key-crypto.js';
import { KeyRing } from './keys/key-ring.js';
import { SigningKeysController, SigningKeysHandler } from './keys/keys.handler.js';
import { NestNatsLink } from './nats/nest-nats-link.js';
import { Replica } from './replica/replica.js';
import { ReplicaEventsHandler } from './replica/replica-events.handler.js';
import { GATEWAY_LOG, ReplicaSync, type Log } from './replica/replica-sync.js';

// The data plane's classes (KeyRing, ReplicaSync, Recorder) stay free of Nest; the subclasses
// below are their wiring: what each takes from the environment and the other providers.

/**
 * The signing keys every replica shares, loaded (a deployment's first start: made) while the
 * replica loads, and refreshed after. The data plane answers 503 until both are loaded.
 */
@Injectable()
export class SharedKeyRing extends KeyRing implements OnModuleInit {
  constructor(
    @Inject(pg.Pool) connections: pg.Pool, // explicit: tsc emits Object for pg's types
    @Inject(AUTH_SERVICE_ENV) env: AuthServiceEnv,
    @Inject(GATEWAY_LOG) private readonly log: Log,
  ) {
    super(
      connections,
      deriveEncryptionKey(env.GATEHOUSE_KEY_ENCRYPTION_KEY ?? env.GATEHOUSE_HASH_KEY),
      env.GATEHOUSE_KEY_ROTATION_INTERVAL,
      env.GATEHOUSE_TEAM_URL,
    );
  }

  /**
   * Not awaited here: a first start's key (RSA on the thread pool, its certificate in a child
   * process: ~0.5 s) is made while the subscriptions open and the replica's first pull runs.
   * `ready` settles with it: startGateway awaits it, and so do the keys.v1.* requests.
   */
  onModuleInit(): void {
    this.ready = this.init().then(
      () => this.start((e) => this.log.warn(`Signing key refresh failed (keeping the loaded keys): ${e.message}`)),
      (error: Error) => {
        throw new Error(`auth-service: cannot load signing keys (did the migration run?): ${error.message}`, { cause: error });
      },
    );
    this.ready.catch(() => undefined); // startGateway awaits it: a failure before then is not unhandled
  }
}

/** The replica's follower of the token service's change feed; pulls again after a NATS reconnect. */
@Injectable()
class FollowingReplicaSync extends ReplicaSync {
  constructor(
    rpc: RpcClient,
    replica: Replica,
    limits: NatsServerLimits,
    @Inject(NATS_CLIENT) client: ClientNats,
    @Inject(AUTH_SERVICE_ENV) env: AuthServiceEnv,
    @Inject(GATEWAY_LOG) log: Log,
  ) {
    super(rpc, replica, env.GATEHOUSE_RESYNC_INTERVAL_MS, () => limits.maxPayload(), log);
    client.on('reconnect', () => this.onReconnect());
  }
}

/** Last-seen times as core events (a lost one is resent with the next), decisions to the JetStream access log. */
@Injectable()
class NatsRecorder extends Recorder {
  constructor(link: NestNatsLink, @Inject(AUTH_SERVICE_ENV) env: AuthServiceEnv, @Inject(GATEWAY_LOG) log: Log) {
    super(
      {
        publishSeen: (p) => {
          try {
            link.publishEvent(TokensSeen, p);
          } catch (e) {
            log.warn(`Could not publish last-seen times: ${(e as Error).message}`);
          }
        },
        publishDecisions: (p) => link.publishDurable(p, p.batchId),
      },
      1000,
      { ...DEFAULT_RECORDER_LIMITS, maxBatch: env.GATEHOUSE_ACCESS_LOG_MAX_DISTINCT_PER_SECOND },
    );
  }
}

/** The PostgreSQL connections close last (NATS closes in NatsClientModule). */
@Injectable()
class PoolShutdown implements OnApplicationShutdown {
  constructor(@Inject(pg.Pool) private readonly pool: pg.Pool) {}

  async onApplicationShutdown(): Promise<void> {
    await this.pool.end();
  }
}

@Module({})
export class AppModule {
  static forRoot(env: AuthServiceEnv, log: Log): DynamicModule {
    return {
      module: AppModule,
      // Its own reply inbox prefix (natsAuth): the JetStream publishes on this connection use it too.
      imports: [NatsClientModule.forRoot({ url: env.NATS_URL, name: 'auth-service-client', auth: natsAuth(env, 'auth-service') })],
      controllers: [ReplicaEventsHandler, SigningKeysController],
      providers: [
        { provide: AUTH_SERVICE_ENV, useValue: env },
        { provide: GATEWAY_LOG, useValue: log },
        { provide: pg.Pool, useValue: createPool(env.DATABASE_URL) },
        { provide: KeyRing, useClass: SharedKeyRing },
        NestNatsLink,
        { provide: NATS_LINK, useExisting: NestNatsLink },
        Replica,
        { provide: ReplicaSync, useClass: FollowingReplicaSync },
        { provide: Recorder, useClass: NatsRecorder },
        GatewayHost,
        // access/keys (get, interval, rotate now): answered by one gateway replica over NATS.
        SigningKeysHandler,
        PoolShutdown,
      ],
    };
  }
}
