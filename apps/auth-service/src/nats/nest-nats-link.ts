import { Inject, Injectable } from '@nestjs/common';
import type { ClientNats } from '@nestjs/microservices';
import { jetstream, jetstreamManager, type JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { AccessDecisionsRecorded, ensureAccessLogStream, parseOrThrow, type EventContract, type PayloadInputOf } from '@gatehouse/contracts';
import { NATS_CLIENT } from '@gatehouse/nest-kit';
import type { NatsLink } from '../gateway/gateway.host.js';

/** The packet of @nestjs/microservices events ({ pattern, data }), as ClientNats.emit sends it: what the consumers read. */
function packet(subject: string, data: unknown): string {
  return JSON.stringify({ pattern: subject, data });
}

/**
 * The NATS client connection of @nestjs/microservices, as the gateway uses it: RPCs and core
 * events through RpcClient, but for the access-log flush's last-seen event (publishEvent) and the
 * JetStream access log, which go on the same NatsConnection underneath (Nest's transport has no
 * JetStream publish with acknowledgement).
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
    await this.jetstream().publish(AccessDecisionsRecorded.subject, packet(AccessDecisionsRecorded.subject, data), {
      msgID: msgId,
      timeout: timeoutMs,
    });
  }

  /**
   * A core event, validated, in the packet of @nestjs/microservices events ({ pattern, data }):
   * what RpcClient.publish sends, without its RxJS round, for the access-log flush (once a
   * second, so seldom optimised: docs/performance.md, "Session 14"). Throws when the connection
   * is closed; while it reconnects, nats.js buffers the event and may drop it (a lost last-seen
   * time is sent again with the token's next use).
   */
  publishEvent<E extends EventContract>(contract: E, payload: PayloadInputOf<E>): void {
    const data = parseOrThrow(contract.payload, payload);
    this.nc.publish(contract.subject, packet(contract.subject, data));
  }

  /** One JetStream client per connection (a new one per batch cost a flush more than its publish). */
  private jetstream(): JetStreamClient {
    const nc = this.nc;
    if (this.js?.nc !== nc) this.js = { nc, client: jetstream(nc) };
    return this.js.client;
  }
}
