import { Inject, Injectable } from '@nestjs/common';
import type { ClientNats } from '@nestjs/microservices';
import { jetstream, jetstreamManager, type JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { AccessDecisionsRecorded, ensureAccessLogStream, parseOrThrow, type EventContract, type PayloadInputOf } from '@gatehouse/contracts';
import { NATS_CLIENT } from '@gatehouse/nest-kit';
import type { NatsLink } from '../gateway/gateway.host.js';

/**
 * The NATS client connection of @nestjs/microservices, as the gateway uses it: RPCs and core
 * events through RpcClient; JetStream (the access log) on the same NatsConnection underneath,
 * because Nest's transport has no JetStream publish with acknowledgement.
 */
@Injectable()
export class NestNatsLink implements NatsLink {
  connected = true;
  private js: { nc: NatsConnection; client: JetStreamClient } | null = null;

  constructor(@Inject(NATS_CLIENT) private readonly client: ClientNats) {
    client.on('disconnect', () => (this.connected = false));
    client.on('reconnect', () => (this.connected = true));
  }

  get nc(): NatsConnection {
    return this.client.unwrap<NatsConnection>();
  }

  async ensureAccessLogStream(replicas?: number): Promise<void> {
    await ensureAccessLogStream((await jetstreamManager(this.nc)).streams, replicas);
  }

  /** Resolves once the stream stored the batch; `msgId` makes a re-publish in the duplicate window a no-op. */
  async publishDurable(payload: unknown, msgId: string, timeoutMs = 5000): Promise<void> {
    const data = parseOrThrow(AccessDecisionsRecorded.payload, payload);
    // The packet format of @nestjs/microservices events ({ pattern, data }): the token service's consumer reads it.
    await this.jetstream().publish(AccessDecisionsRecorded.subject, JSON.stringify({ pattern: AccessDecisionsRecorded.subject, data }), {
      msgID: msgId,
      timeout: timeoutMs,
    });
  }

  /**
   * A core event, validated, in the packet of @nestjs/microservices events ({ pattern, data }):
   * what RpcClient.publish sends, without its RxJS round, for the access-log flush (once a
   * second, so seldom optimised: docs/performance.md, "Session 14"). Throws when the connection
   * is closed.
   */
  publishEvent<E extends EventContract>(contract: E, payload: PayloadInputOf<E>): void {
    const data = parseOrThrow(contract.payload, payload);
    this.nc.publish(contract.subject, JSON.stringify({ pattern: contract.subject, data }));
  }

  /** One JetStream client per connection (a new one per batch cost a flush more than its publish). */
  private jetstream(): JetStreamClient {
    const nc = this.nc;
    if (this.js?.nc !== nc) this.js = { nc, client: jetstream(nc) };
    return this.js.client;
  }
}
