import { jetstream, jetstreamManager, type JetStreamClient } from '@nats-io/jetstream';
import { natsConnectionOptions, type NatsAuth } from '@gatehouse/config';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { DomainError, ErrorShape, ensureAccessLogStream, parseOrThrow, type EventContract, type PayloadOf, type RequestOf, type ResponseOf, type RpcContract } from '@gatehouse/contracts';

/**
 * The gateway's NATS side without Nest: one connection, the same wire format as
 * @nestjs/microservices (`{ pattern, data, id }` requests, `{ pattern, data }` events), and the
 * contracts validating both directions. Keeps the data plane free of framework overhead.
 */
export class NatsBus {
  connected = false;
  private js?: JetStreamClient;
  private constructor(readonly nc: NatsConnection) {}

  static async connect(url: string, name: string, auth: NatsAuth = { service: name }): Promise<NatsBus> {
    const nc = await connect({
      servers: url.split(',').map((s) => s.trim()),
      name,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      waitOnFirstConnect: true,
      pingInterval: 5_000,
      maxPingOut: 2,
      ...natsConnectionOptions(auth),
    });
    const bus = new NatsBus(nc);
    bus.connected = true;
    void (async () => {
      for await (const s of nc.status()) {
        if (s.type === 'disconnect' || s.type === 'close') bus.connected = false;
        else if (s.type === 'reconnect') bus.connected = true;
      }
    })();
    return bus;
  }

  async request<C extends RpcContract>(contract: C, payload: RequestOf<C>, timeoutMs = 5000): Promise<ResponseOf<C>> {
    const data = parseOrThrow(contract.request, payload);
    const id = Math.random().toString(36).slice(2);
    const msg = await this.nc.request(contract.subject, JSON.stringify({ pattern: contract.subject, data, id }), { timeout: timeoutMs });
    const packet = msg.json<{ err?: unknown; response?: unknown }>();
    if (packet.err) {
      const shape = ErrorShape.safeParse(packet.err);
      throw shape.success ? DomainError.fromShape(shape.data) : new DomainError('INTERNAL', `${contract.subject} failed: ${String(packet.err)}`);
    }
    return parseOrThrow(contract.response, packet.response, `${contract.subject} response`) as ResponseOf<C>;
  }

  publish<E extends EventContract>(contract: E, payload: PayloadOf<E>): void {
    this.nc.publish(contract.subject, eventPacket(contract, payload));
  }

  /**
   * Publishes an event into its JetStream stream and resolves once the stream stored it; `msgId`
   * makes a re-publish inside the stream's duplicate window a no-op. Rejects when NATS or the
   * stream is unavailable (the caller keeps the event and retries).
   */
  async publishDurable<E extends EventContract>(contract: E, payload: PayloadOf<E>, msgId: string, timeoutMs = 5000): Promise<void> {
    this.js ??= jetstream(this.nc);
    await this.js.publish(contract.subject, eventPacket(contract, payload), { msgID: msgId, timeout: timeoutMs });
  }

  /** Creates the access-log stream if it is missing (the token service does the same). */
  async ensureAccessLogStream(replicas?: number): Promise<void> {
    await ensureAccessLogStream((await jetstreamManager(this.nc)).streams, replicas);
  }

  /** A plain subscription (no queue group: every replica sees every event). */
  subscribe<E extends EventContract>(contract: E, handler: (payload: PayloadOf<E>) => void, onInvalid: (e: Error) => void): void {
    this.nc.subscribe(contract.subject, {
      callback: (err, msg) => {
        if (err) return onInvalid(err);
        try {
          const packet = msg.json<{ data?: unknown }>();
          handler(parseOrThrow(contract.payload, packet.data, contract.subject) as PayloadOf<E>);
        } catch (e) {
          onInvalid(e as Error);
        }
      },
    });
  }

  async close(): Promise<void> {
    await this.nc.drain().catch(() => this.nc.close());
  }
}

/** An event as @nestjs/microservices sends it (`{ pattern, data }`), validated by its contract. */
function eventPacket<E extends EventContract>(contract: E, payload: PayloadOf<E>): string {
  return JSON.stringify({ pattern: contract.subject, data: parseOrThrow(contract.payload, payload) });
}
