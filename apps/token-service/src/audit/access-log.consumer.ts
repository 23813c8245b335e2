import { createHash } from 'node:crypto';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { AckPolicy, jetstream, jetstreamManager, type ConsumerMessages, type JetStreamManager, type JsMsg } from '@nats-io/jetstream';
import { natsAuth, natsConnectionOptions } from '@gatehouse/config';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { ACCESS_LOG_STREAM, AccessDecisionsRecorded, ensureAccessLogStream, parseOrThrow, type PayloadOf } from '@gatehouse/contracts';
import { TOKEN_SERVICE_ENV, type TokenServiceEnv } from '../config/env.js';
import { AuditRepository } from './audit.repository.js';
import type { AuditEntry } from './ledger.js';

type Decision = PayloadOf<typeof AccessDecisionsRecorded>['decisions'][number];

/** One audit line per gateway decision. Never carries a secret or a JWT (the payload has neither). */
export function toAuditEntry(d: Decision): AuditEntry {
  return {
    accountId: d.accountId,
    action: d.decision === 'allow' ? 'access.allowed' : 'access.denied',
    actor: { type: 'service_token', id: d.clientId ?? 'unknown' },
    resourceType: 'access_app',
    resourceId: d.appId,
    resourceName: d.appName,
    occurredAt: new Date(d.occurredAt),
    metadata: {
      tokenId: d.tokenId,
      tokenName: d.tokenName,
      reason: d.reason,
      sourceIp: d.sourceIp,
      via: d.via,
      count: d.count,
      ...(d.rayId ? { rayId: d.rayId } : {}),
    },
  };
}

/**
 * The id of the `index`-th row of a batch: the same batch appended twice (a redelivery, or a
 * re-publish after a lost acknowledgement) writes the same ids, and the second write is ignored.
 */
export function auditRowId(batchKey: string, index: number): string {
  const h = createHash('sha256').update(`${batchKey}:${index}`).digest('hex');
  // RFC 9562 layout: version 8 (custom), variant 10.
  const variant = ((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/**
 * Appends the gateway's access decisions to the audit log from the JetStream stream: a durable
 * consumer shared by the token service's replicas. A batch is acknowledged only after its rows are
 * committed; while PostgreSQL fails it is redelivered, and rows already written are not written
 * twice. So a decision the gateway handed to NATS is never lost to a restart or an outage here.
 */
@Injectable()
export class AccessLogConsumer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log = new Logger('AccessLog');
  /** How long a batch that failed to commit waits before it is redelivered. */
  private readonly retryDelayMs = 1000;
  /**
   * How long a pull request lives. The client re-pulls on that beat, expects the server's
   * heartbeat at half of it, and, after a reconnect, retries its consumer lookup at that interval:
   * with the library's 30 s default, a lookup that failed while the cluster elected a new consumer
   * leader left the log undrained for 30 s.
   */
  private readonly pullExpiresMs = 5000;
  /** A consumer with messages waiting that has delivered nothing for this long is read afresh. */
  readonly stallMs: number = 10_000;
  private nc?: NatsConnection;
  private messages?: ConsumerMessages;
  private loop?: Promise<void>;
  private watchdog?: NodeJS.Timeout;
  private stopping = false;
  /** When the last message arrived or was handled (or the current `consume()` began). */
  private lastActivity = Date.now();
  /**
   * An idle log (nothing waiting at the last check) is asked again only after this long, or as soon
   * as a batch arrives: a check every few seconds was most of an idle system's NATS traffic.
   */
  private readonly idleCheckMs = 60_000;
  private nextCheckAt = 0;
  /** A message is being handled. */
  private busy = false;
  private checking = false;

  constructor(
    @Inject(TOKEN_SERVICE_ENV) private readonly env: TokenServiceEnv,
    private readonly audit: AuditRepository,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.nc = await connect({
      servers: this.env.NATS_URL.split(',').map((s) => s.trim()),
      name: 'token-service-access-log',
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      ...natsConnectionOptions(natsAuth(this.env, 'token-service')),
    });
    const jsm = await jetstreamManager(this.nc);
    await ensureAccessLogStream(jsm.streams, this.env.GATEHOUSE_ACCESS_LOG_REPLICAS);
    await this.ensureConsumer(jsm);
    this.loop = this.run();
    this.watchdog = setInterval(() => void this.checkStalled(), Math.max(250, Math.floor(this.stallMs / 2)));
    this.watchdog.unref();
  }

  /** The durable consumer shared by the replicas; adding it again with the same settings is a no-op. */
  private async ensureConsumer(jsm: JetStreamManager): Promise<void> {
    await jsm.consumers.add(ACCESS_LOG_STREAM.name, {
      durable_name: ACCESS_LOG_STREAM.consumer,
      ack_policy: AckPolicy.Explicit,
      ack_wait: 30_000 * 1_000_000,
      max_deliver: -1,
    });
  }

  /**
   * The library recovers a pull consumer from a lost server by itself, but only on its own timers,
   * and a failed lookup during a failover waits a whole pull expiry again. This is the backstop:
   * when batches wait for this consumer (never delivered, or delivered and never acknowledged), and
   * nothing has arrived for `stallMs`, the current `consume()` is closed and `run()` starts a new one.
   */
  async checkStalled(): Promise<boolean> {
    if (this.stopping || this.checking || this.busy || !this.messages || !this.nc) return false;
    if (Date.now() - this.lastActivity < this.stallMs || Date.now() < this.nextCheckAt) return false;
    this.checking = true;
    try {
      const jsm = await jetstreamManager(this.nc, { timeout: 2000, checkAPI: false });
      const info = await jsm.consumers.info(ACCESS_LOG_STREAM.name, ACCESS_LOG_STREAM.consumer).catch(async (error: Error) => {
        if (!/consumer not found/i.test(error.message)) throw error;
        // Deleted under us (an operator, or a cluster that lost it): the reader would wait for it
        // forever. Recreated, it delivers the stream again; rows already written are not rewritten.
        this.log.warn('Access-log consumer was missing on the server; created it again');
        await this.ensureConsumer(jsm);
        return { num_pending: 1, num_ack_pending: 0 };
      });
      // Waiting: never delivered, or delivered to a pull that was lost with its server (awaiting an
      // acknowledgement that will not come until the ack wait runs out).
      const waiting = info.num_pending + info.num_ack_pending;
      if (waiting === 0) this.nextCheckAt = Date.now() + this.idleCheckMs;
      if (waiting === 0 || this.busy || Date.now() - this.lastActivity < this.stallMs) return false;
      this.log.warn(`Access-log consumer stalled (${waiting} batches waiting, none delivered for ${this.stallMs} ms); reading again`);
      this.lastActivity = Date.now();
      await this.messages?.close().catch(() => undefined);
      return true;
    } catch {
      // NATS or JetStream unreachable right now: the next check asks again.
      return false;
    } finally {
      this.checking = false;
    }
  }

  /**
   * Reads the stream until shutdown. `consume()` ends when the server it reads through goes away
   * mid-flight (a cluster node killed, the consumer's leader moving): then it starts again on
   * whichever server the connection reached, so the log keeps draining after any failover.
   */
  private async run(): Promise<void> {
    let delay = 250;
    while (!this.stopping) {
      try {
        const consumer = await jetstream(this.nc!).consumers.get(ACCESS_LOG_STREAM.name, ACCESS_LOG_STREAM.consumer);
        this.messages = await consumer.consume({ max_messages: 16, expires: this.pullExpiresMs });
        this.lastActivity = Date.now();
        delay = 250;
        for await (const m of this.messages) {
          this.lastActivity = Date.now();
          this.nextCheckAt = 0;
          this.busy = true;
          try {
            await this.handle(m);
          } finally {
            this.busy = false;
            this.lastActivity = Date.now();
          }
        }
      } catch (error) {
        if (!this.stopping) this.log.warn(`Access-log consumer interrupted (${(error as Error).message}); reading again`);
      }
      if (this.stopping) break;
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 5000);
    }
  }

  async handle(m: JsMsg): Promise<void> {
    let event: PayloadOf<typeof AccessDecisionsRecorded>;
    try {
      event = parseOrThrow(AccessDecisionsRecorded.payload, m.json<{ data?: unknown }>().data, AccessDecisionsRecorded.subject);
    } catch (error) {
      // Redelivering it would fail the same way; it is kept in the log, not silently skipped.
      this.log.error(`Discarded an invalid access-log batch (stream sequence ${m.seq}): ${(error as Error).message}`);
      m.term();
      return;
    }
    // A batch published without a batch id (plain NATS publish) is named by its stream position.
    const batchKey = event.batchId ?? `${ACCESS_LOG_STREAM.name}:${m.info.streamSequence}`;
    try {
      await this.audit.appendOnce(event.decisions.map((d, i) => ({ ...toAuditEntry(d), id: auditRowId(batchKey, i) })));
      m.ack();
    } catch (error) {
      this.log.warn(`Access-log batch (${event.decisions.length} decisions) not appended yet, retrying: ${(error as Error).message}`);
      m.nak(this.retryDelayMs);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopping = true;
    clearInterval(this.watchdog);
    await this.messages?.close().catch(() => undefined);
    await this.loop?.catch(() => undefined);
    await this.nc?.drain().catch(() => this.nc?.close());
  }
}
