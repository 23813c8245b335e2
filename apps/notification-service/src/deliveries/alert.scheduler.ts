import { Inject, Injectable, Logger } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { AccountDirectory } from '../accounts/account-directory.js';
import { NOTIFICATION_ENV, smtpSecrets, type NotificationEnv } from '../config/env.js';
import { CLOCK, type Clock } from '@gatehouse/nest-kit';
import { idempotencyKey, messageIdFor, renderEmail, webhookPayload, type ExpiringTokenAlert } from '../mail/alert-message.js';
import { MAILER, type Mailer } from '../mail/mailer.port.js';
import { PoliciesRepository } from '../policies/policies.repository.js';
import type { Kickable } from '../tokens/token-replica.service.js';
import { SyncGate } from '../tokens/sync-gate.js';
import { SecretBox } from '../webhooks/secret-box.js';
import { WebhookSender } from '../webhooks/webhook.sender.js';
import { DeliveryMetrics, type DeliveryObserver } from './delivery.metrics.js';
import { OutboxRepository, type ClaimedDelivery } from './outbox.repository.js';

export interface SchedulerOptions {
  tickMs: number;
  leaseMs: number;
  retryBaseMs: number;
  retryMaxMs: number;
  maxAttempts: number;
  batch: number;
  concurrency: number;
  publicUrl: string;
  mailFrom: string;
}

export function schedulerOptions(env: NotificationEnv): SchedulerOptions {
  return {
    tickMs: env.GATEHOUSE_NOTIFY_TICK_MS,
    leaseMs: env.GATEHOUSE_NOTIFY_LEASE_MS,
    retryBaseMs: env.GATEHOUSE_NOTIFY_RETRY_BASE_MS,
    retryMaxMs: env.GATEHOUSE_NOTIFY_RETRY_MAX_MS,
    maxAttempts: env.GATEHOUSE_NOTIFY_MAX_ATTEMPTS,
    batch: env.GATEHOUSE_NOTIFY_BATCH,
    concurrency: env.GATEHOUSE_NOTIFY_CONCURRENCY,
    publicUrl: env.GATEHOUSE_PUBLIC_URL,
    mailFrom: env.GATEHOUSE_MAIL_FROM,
  };
}

/** Delay before attempt n+1 after n failed ones: base·2^(n-1), capped, ±20 % jitter. */
export function backoffMs(failedAttempts: number, baseMs: number, maxMs: number, random = Math.random): number {
  const raw = Math.min(maxMs, baseMs * 2 ** Math.max(0, failedAttempts - 1));
  return Math.round(raw * (0.8 + 0.4 * random()));
}

/** Removes known secrets from an error message before it is stored or logged. */
export function redactor(secrets: string[]): (text: string) => string {
  const needles = secrets.filter((s) => s.length >= 3).flatMap((s) => [s, encodeURIComponent(s)]);
  return (text) => {
    let out = text;
    for (const n of needles) out = out.split(n).join('***');
    out = out.replace(/(\b[a-z][a-z0-9+.-]*:\/\/)[^/\s:@]*:[^/\s@]*@/gi, '$1***:***@');
    return out.length > 500 ? out.slice(0, 497) + '...' : out;
  };
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** The shortest time between the starts of two passes that kicks asked for. */
export const KICK_GAP_MS = 200;

/**
 * The schedule and the outbox worker. Each run: cancel deliveries nobody wants any more, write
 * the due ones (idempotent), then claim batches (FOR UPDATE SKIP LOCKED, with a lease), send and
 * mark each. Runs on a timer and whenever something changes (kick). Safe with several replicas.
 */
@Injectable()
export class AlertScheduler implements Kickable {
  private readonly logger = new Logger('AlertScheduler');
  private timer: NodeJS.Timeout | undefined;
  private current: Promise<void> | undefined;
  private again = false;
  /** When the last pass started (performance.now(): a clock that tests do not move). */
  private lastPassAt = -Infinity;
  /** A kick put off until KICK_GAP_MS after the last pass. */
  private deferred: NodeJS.Timeout | undefined;
  private stopping = false;
  private readonly options: SchedulerOptions;
  private readonly redact: (text: string) => string;

  constructor(
    private readonly outbox: OutboxRepository,
    @Inject(PoliciesRepository) private readonly policies: Pick<PoliciesRepository, 'findWebhookById' | 'recordWebhookOutcome'>,
    @Inject(AccountDirectory) private readonly accounts: Pick<AccountDirectory, 'nameOf'>,
    @Inject(MAILER) private readonly mailer: Mailer,
    private readonly webhooks: WebhookSender,
    private readonly secrets: SecretBox,
    @Inject(CLOCK) private readonly clock: Clock,
    /** Opened by the token replica once its copy is current. */
    private readonly gate: SyncGate,
    @Inject(NOTIFICATION_ENV) env: NotificationEnv,
    @Inject(DeliveryMetrics) private readonly observer: DeliveryObserver,
  ) {
    this.options = schedulerOptions(env);
    this.redact = redactor(smtpSecrets(env.SMTP_URL));
  }

  start(): void {
    this.stopping = false;
    this.timer = setInterval(() => this.kick(), this.options.tickMs);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.timer);
    clearTimeout(this.deferred);
    this.deferred = undefined;
    await this.current;
  }

  kick(): void {
    if (this.stopping) return;
    if (this.current) {
      this.again = true;
      return;
    }
    // A pass starts no sooner than KICK_GAP_MS after the one before; kicks meanwhile are one pass,
    // then. At 100 token changes a second, each change's kick ran a pass (three statements) back
    // to back with the last.
    if (performance.now() - this.lastPassAt < KICK_GAP_MS) return this.kickLater();
    this.current = this.loop().finally(() => (this.current = undefined));
  }

  /** One full pass, started now, after any pass in flight (tests and benchmarks may await it). */
  async runOnce(): Promise<void> {
    while (this.current) await this.current;
    this.current = this.loop().finally(() => (this.current = undefined));
    await this.current;
  }

  private async loop(): Promise<void> {
    do {
      this.again = false;
      this.lastPassAt = performance.now();
      try {
        await this.pass();
      } catch (error) {
        this.logger.warn(`Scheduler pass failed: ${this.redact((error as Error).message)}`);
        return;
      }
    } while (this.again && !this.stopping && performance.now() - this.lastPassAt >= KICK_GAP_MS);
    if (this.again && !this.stopping) {
      // Kicked during a pass that started less than KICK_GAP_MS ago: once that has gone by.
      this.again = false;
      this.kickLater();
    }
  }

  /** One kick, KICK_GAP_MS after the last pass started (kicks meanwhile share it). */
  private kickLater(): void {
    this.deferred ??= setTimeout(
      () => {
        this.deferred = undefined;
        this.kick();
      },
      Math.max(0, this.lastPassAt + KICK_GAP_MS - performance.now()),
    );
  }

  private async pass(): Promise<void> {
    if (!this.gate.synced) return; // until the first snapshot, the token copy may be stale
    const now = this.clock.now();
    const cancelled = await this.outbox.cancelUnwanted(now);
    const created = await this.outbox.materialise(now);
    if (cancelled || created) this.logger.debug(`${created} deliveries due, ${cancelled} cancelled`);
    while (!this.stopping) {
      const at = this.clock.now();
      const batch = await this.outbox.claim(at, this.options.batch, new Date(at.getTime() + this.options.leaseMs));
      if (!batch.length) break;
      await this.mapLimit(batch, this.options.concurrency * 2, (d) => this.deliver(d));
    }
  }

  private async deliver(d: ClaimedDelivery): Promise<void> {
    try {
      await this.send(d);
    } catch (error) {
      const message = this.redact((error as Error).message || String(error));
      const final = d.attempts >= this.options.maxAttempts;
      const now = this.clock.now();
      const next = final ? null : new Date(now.getTime() + backoffMs(d.attempts, this.options.retryBaseMs, this.options.retryMaxMs));
      this.logger.warn(`Delivery ${d.id} (${d.mechanism}) attempt ${d.attempts} failed: ${message}${final ? ' — giving up' : ''}`);
      await this.withRetries(() => this.outbox.markFailed(d.id, now, message, next));
      this.observer.attempted(d.mechanism, final ? 'failed' : 'retry');
      return;
    }
    // Sent: record it at once (group commit: marks that arrive while one is being written go in the next statement).
    await this.recordSent(d.id);
    this.observer.attempted(d.mechanism, 'sent');
  }

  private readonly sentQueue: Array<{ id: string; done: () => void }> = [];
  private flushing = false;

  private recordSent(id: string): Promise<void> {
    return new Promise<void>((done) => {
      this.sentQueue.push({ id, done });
      if (!this.flushing) void this.flushSent();
    });
  }

  private async flushSent(): Promise<void> {
    this.flushing = true;
    while (this.sentQueue.length) {
      const batch = this.sentQueue.splice(0, 1000);
      // Retrying the mark narrows the one window that could repeat a message (a send not yet recorded).
      await this.withRetries(() =>
        this.outbox.markSent(
          batch.map((b) => b.id),
          this.clock.now(),
        ),
      );
      for (const b of batch) b.done();
    }
    this.flushing = false;
  }

  private async send(d: ClaimedDelivery): Promise<void> {
    const key = idempotencyKey(d);
    const alert: ExpiringTokenAlert = {
      deliveryId: d.id,
      idempotencyKey: key,
      policyId: d.policyId,
      policyName: d.policyName,
      account: { id: d.accountId, name: await this.accounts.nameOf(d.accountId) },
      token: { id: d.tokenId, name: d.tokenName, clientId: d.clientId, duration: d.duration, expiresAt: d.expiresAt },
      publicUrl: this.options.publicUrl,
    };
    if (d.mechanism === 'email') {
      const mail = renderEmail(alert);
      await this.mailer.send({
        to: d.target,
        ...mail,
        messageId: messageIdFor(key, this.options.mailFrom),
        headers: { 'X-Gatehouse-Alert': 'expiring_service_token_alert', 'X-Gatehouse-Token-Id': d.tokenId, 'X-Gatehouse-Delivery': d.id },
      });
      return;
    }
    const destination = await this.policies.findWebhookById(d.target);
    if (!destination) throw new Error('webhook destination no longer exists');
    const attempt = this.webhooks.send({
      url: destination.url,
      secret: destination.secretCiphertext ? this.secrets.open(destination.secretCiphertext) : null,
      body: JSON.stringify(webhookPayload(alert, this.clock.now())),
      deliveryId: d.id,
      idempotencyKey: createHash('sha256').update(key).digest('hex'),
    });
    // last_success / last_failure of the destination: best effort, never fails the delivery.
    const outcome = (ok: boolean) => this.policies.recordWebhookOutcome(destination.id, ok, this.clock.now()).catch(() => undefined);
    await attempt.then(
      () => outcome(true),
      async (error: unknown) => {
        await outcome(false);
        throw error;
      },
    );
  }

  /**
   * Records an outcome, retrying (e.g. through a PostgreSQL restart) for up to half the lease: while
   * the lease holds nobody else sends the delivery, so a late record still prevents a repeat.
   */
  private async withRetries(fn: () => Promise<void>): Promise<void> {
    const deadline = Date.now() + this.options.leaseMs / 2;
    for (let i = 0; ; i++) {
      try {
        return await fn();
      } catch (error) {
        if (Date.now() >= deadline) {
          this.logger.error(`Could not record a delivery outcome: ${(error as Error).message}`);
          return;
        }
        await pause(Math.min(2000, 50 * 2 ** i));
      }
    }
  }

  private async mapLimit<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < items.length) await fn(items[next++]!);
    };
    await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  }
}
