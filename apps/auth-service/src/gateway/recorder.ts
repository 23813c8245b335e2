import { randomUUID } from 'node:crypto';
import type { AccessDecisionsRecorded, TokensSeen, PayloadOf } from '@gatehouse/contracts';

type DecisionRecord = PayloadOf<typeof AccessDecisionsRecorded>['decisions'][number];
/** A decision as the data plane reports it; the recorder adds when and how many. */
export type DecisionEntry = Omit<DecisionRecord, 'occurredAt' | 'count'>;
type DecisionBatch = PayloadOf<typeof AccessDecisionsRecorded> & { batchId: string };

export interface Publisher {
  publishSeen(payload: PayloadOf<typeof TokensSeen>): void;
  /** Resolves once the batch is stored durably (JetStream acknowledged it); rejects otherwise. */
  publishDecisions(payload: DecisionBatch): Promise<void>;
}

export interface RecorderLimits {
  /**
   * Distinct decisions per flush window (one second in the gateway): beyond it they are dropped
   * and counted in `dropped`. GATEHOUSE_ACCESS_LOG_MAX_DISTINCT_PER_SECOND.
   */
  maxBatch: number;
  /** Distinct decisions kept for retry while they cannot be stored (NATS or JetStream down). */
  maxUnsent: number;
}
export const DEFAULT_RECORDER_LIMITS: RecorderLimits = { maxBatch: 10_000, maxUnsent: 200_000 };

/**
 * Batches what the data plane reports: last-seen times (one entry per token per flush) and
 * access decisions. Identical decisions (same app, token, client id, source, via, decision and
 * reason) inside one flush window become one entry with a `count`, so a client making 5,000
 * requests a second yields one audit row a second (count 5000), not 5,000 rows, and every use is
 * still accounted for. Never holds a secret or a JWT.
 *
 * Decision batches are kept until JetStream has stored them: a batch that cannot be published
 * (NATS down, no stream) is retried, oldest first and with the same batch id, at every flush.
 * Only beyond `maxUnsent` waiting decisions are new ones dropped, and counted in `dropped`.
 * Last-seen times are best effort (the next use sets them again).
 */
export class Recorder {
  private seen = new Map<string, string>();
  private decisions = new Map<string, DecisionRecord>();
  private unsent: DecisionBatch[] = [];
  private unsentDecisions = 0;
  private sending: Promise<void> | null = null;
  private timer?: NodeJS.Timeout;
  dropped = 0;

  constructor(
    private readonly publisher: Publisher,
    private readonly flushMs = 1000,
    private readonly limits: RecorderLimits = DEFAULT_RECORDER_LIMITS,
  ) {}

  start(): void {
    // Fire and forget: send() keeps a batch it cannot publish and retries it next time; flush never rejects.
    this.timer = setInterval(() => void this.flush(), this.flushMs);
    this.timer.unref();
  }

  tokenSeen(tokenId: string, at: number): void {
    if (!this.seen.has(tokenId)) this.seen.set(tokenId, new Date(at).toISOString());
  }

  decision(d: DecisionEntry, at: number): void {
    this.decisionKeyed(Recorder.keyOf(d), d, d.rayId, at);
  }

  /** What makes two decisions the same entry (the fields besides it follow from these). */
  static keyOf(d: DecisionEntry): string {
    return `${d.appId}|${d.tokenId}|${d.clientId}|${d.sourceIp}|${d.via}|${d.decision}|${d.reason}`;
  }

  /**
   * `decision`, with its key (`keyOf(d)`) made by the caller, who may keep it for the next
   * decision that is the same: a key string made once has its hash cached, one built per request
   * is hashed each time. `ray` is this request's; `d.rayId` is not read.
   */
  decisionKeyed(key: string, d: DecisionEntry, ray: string | undefined, at: number): void {
    const same = this.decisions.get(key);
    if (same) {
      same.count += 1;
      return;
    }
    if (this.decisions.size >= this.limits.maxBatch) {
      this.dropped++;
      return;
    }
    this.decisions.set(key, { ...d, rayId: ray, occurredAt: new Date(at).toISOString(), count: 1 });
  }

  /** Decisions waiting to be stored (health). */
  get pending(): number {
    return this.unsentDecisions;
  }

  /** Hands this window's batches over; resolves when every waiting batch is stored or one failed. */
  flush(): Promise<void> {
    if (this.seen.size) {
      const seen = [...this.seen].map(([tokenId, at]) => ({ tokenId, at }));
      this.seen.clear();
      try {
        this.publisher.publishSeen({ seen });
      } catch {
        /* NATS down: last_seen_at is set again by the next use */
      }
    }
    if (this.decisions.size) {
      const decisions = [...this.decisions.values()];
      this.decisions.clear();
      if (this.unsentDecisions + decisions.length > this.limits.maxUnsent) this.dropped += decisions.reduce((n, d) => n + d.count, 0);
      else {
        this.unsent.push({ batchId: randomUUID(), decisions });
        this.unsentDecisions += decisions.length;
      }
    }
    if (!this.unsent.length) return this.sending ?? Promise.resolve();
    return (this.sending ??= this.sendNextTurn().finally(() => (this.sending = null)));
  }

  /**
   * The batches go out in a later turn of the event loop than the last-seen times: each publish
   * holds the loop for a few tenths of a millisecond (code run once a second is seldom
   * optimised), and the requests that arrive meanwhile are served, their answers written, in
   * between. A timer, not setImmediate: that would run before the answers held for the same turn
   * (./write-batch.ts) and delay them (docs/performance.md, "Session 14").
   */
  private async sendNextTurn(): Promise<void> {
    await new Promise<void>((resolve) => setTimeout(resolve, 1));
    await this.send();
  }

  /**
   * Flushes, then waits up to `timeoutMs` for the waiting batches to be stored (a send that was
   * already under way and failed is tried once more).
   */
  async stop(timeoutMs = 2000): Promise<void> {
    clearInterval(this.timer);
    let timer: NodeJS.Timeout | undefined;
    const handOver = this.flush().then(() => (this.unsent.length ? this.flush() : undefined));
    await Promise.race([handOver, new Promise((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
  }

  private async send(): Promise<void> {
    while (this.unsent.length) {
      const batch = this.unsent[0]!;
      try {
        await this.publisher.publishDecisions(batch);
      } catch {
        return; // kept, retried at the next flush
      }
      this.unsent.shift();
      this.unsentDecisions -= batch.decisions.length;
    }
  }
}
