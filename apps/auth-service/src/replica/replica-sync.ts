import {
  ApplicationChangedEvent,
  OrganizationChangedEvent,
  PolicyChangedEvent,
  ReplicaSnapshot,
  TokenCreated,
  TokenDeleted,
  TokenRefreshed,
  TokenRotated,
  TokenUpdated,
} from '@gatehouse/contracts';
import type { NatsBus } from './nats-bus.js';
import type { Replica } from './replica.js';

export interface Log {
  log(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

/**
 * Keeps the replica fresh: snapshot at start (retried until the token service answers), every
 * change event as it happens, and a resync on a gap or every `resyncMs` (heals lost events).
 */
export class ReplicaSync {
  private timer?: NodeJS.Timeout;
  private syncing: Promise<void> | null = null;
  private stopped = false;
  lastError: string | null = null;

  constructor(
    private readonly bus: NatsBus,
    private readonly replica: Replica,
    private readonly resyncMs: number,
    private readonly log: Log,
  ) {}

  /** Subscribes, then loads the first snapshot (retrying). Resolves once the replica is loaded. */
  async start(): Promise<void> {
    const invalid = (e: Error) => this.log.warn(`Ignored an invalid event: ${e.message}`);
    const onResult = (r: 'stale' | 'applied' | 'gap') => {
      if (r === 'gap') void this.resync();
    };
    for (const c of [TokenCreated, TokenUpdated, TokenRefreshed, TokenRotated, TokenDeleted]) {
      this.bus.subscribe(c, (payload) => onResult(this.replica.apply({ type: 'token', payload })), invalid);
    }
    this.bus.subscribe(ApplicationChangedEvent, (payload) => onResult(this.replica.apply({ type: 'app', payload })), invalid);
    this.bus.subscribe(PolicyChangedEvent, (payload) => onResult(this.replica.apply({ type: 'policy', payload })), invalid);
    this.bus.subscribe(OrganizationChangedEvent, (payload) => onResult(this.replica.apply({ type: 'organization', payload })), invalid);
    await this.bus.nc.flush();
    let delay = 200;
    const startedAt = Date.now();
    while (!this.replica.loaded && !this.stopped) {
      await this.resync();
      if (!this.replica.loaded) {
        // Services start in any order: the token service not answering in the first 30 s is no warning.
        const message = `Waiting for ${ReplicaSnapshot.subject} (${this.lastError ?? 'no answer'})`;
        if (Date.now() - startedAt < 30_000) this.log.log(message);
        else this.log.warn(message);
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 2000);
      }
    }
    this.timer = setInterval(() => void this.resync(), this.resyncMs);
    this.timer.unref();
  }

  /** One snapshot request; concurrent callers share it. Failures keep the current replica. */
  resync(): Promise<void> {
    if (this.syncing) return this.syncing;
    this.syncing = (async () => {
      try {
        const snapshot = await this.bus.request(ReplicaSnapshot, {}, Math.min(5000, Math.max(1000, this.resyncMs)));
        const before = this.replica.revision;
        this.replica.loadSnapshot(snapshot);
        if (before >= 0 && snapshot.revision > before) this.log.log(`Resynced from revision ${before} to ${snapshot.revision}`);
        this.lastError = null;
      } catch (error) {
        this.lastError = (error as Error).message;
      } finally {
        this.syncing = null;
      }
    })();
    return this.syncing;
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }
}
