import { AccessDecisionsRecorded, TokensSeen, type PayloadOf } from '@gatehouse/contracts';

type DecisionRecord = PayloadOf<typeof AccessDecisionsRecorded>['decisions'][number];

export interface Publisher {
  publishSeen(payload: PayloadOf<typeof TokensSeen>): void;
  publishDecisions(payload: PayloadOf<typeof AccessDecisionsRecorded>): void;
}

const MAX_BATCH = 10_000;

/**
 * Batches what the data plane reports: last-seen times (one entry per token per flush) and
 * access decisions. Identical decisions (same app, token, client id, source, via, decision and
 * reason) inside one flush window become one entry with a `count`, so a client making 5,000
 * requests a second yields one audit row a second (count 5000), not 5,000 rows, and every use is
 * still accounted for. Never holds a secret or a JWT.
 */
export class Recorder {
  private seen = new Map<string, string>();
  private decisions = new Map<string, DecisionRecord>();
  private timer?: NodeJS.Timeout;
  dropped = 0;

  constructor(
    private readonly publisher: Publisher,
    private readonly flushMs = 1000,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.flush(), this.flushMs);
    this.timer.unref();
  }

  tokenSeen(tokenId: string, at: number): void {
    if (!this.seen.has(tokenId)) this.seen.set(tokenId, new Date(at).toISOString());
  }

  decision(d: Omit<DecisionRecord, 'occurredAt' | 'count'>, at: number): void {
    const key = `${d.appId}|${d.tokenId}|${d.clientId}|${d.sourceIp}|${d.via}|${d.decision}|${d.reason}`;
    const same = this.decisions.get(key);
    if (same) {
      same.count += 1;
      return;
    }
    if (this.decisions.size >= MAX_BATCH) {
      this.dropped++;
      return;
    }
    this.decisions.set(key, { ...d, occurredAt: new Date(at).toISOString(), count: 1 });
  }

  flush(): void {
    if (this.seen.size) {
      const seen = [...this.seen].map(([tokenId, at]) => ({ tokenId, at }));
      this.seen.clear();
      this.safely(() => this.publisher.publishSeen({ seen }));
    }
    if (this.decisions.size) {
      const decisions = [...this.decisions.values()];
      this.decisions.clear();
      this.safely(() => this.publisher.publishDecisions({ decisions }));
    }
  }

  stop(): void {
    clearInterval(this.timer);
    this.flush();
  }

  private safely(fn: () => void): void {
    try {
      fn();
    } catch {
      /* NATS down: the batch is lost (last_seen_at and the access log are best effort) */
    }
  }
}
