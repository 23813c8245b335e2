import { Logger } from '@nestjs/common';
import { TokensSnapshot, type TokenChanged } from '@gatehouse/contracts';
import type { RpcClient } from '@gatehouse/nest-kit';
import type { Clock } from '../clock.js';
import { toReplicaToken, type TokenReplicaRepository } from './token-replica.repository.js';

export interface Kickable {
  kick(): void;
}

/** Shared by the replica (which opens it) and the scheduler (which waits for it). */
export class SyncGate {
  /** True once a snapshot has been applied since start: only then is the token copy known to be current. */
  synced = false;
}

/** Services start in any order: until this long after start, a token service not answering yet is no warning. */
export const STARTUP_GRACE_MS = 30_000;

/**
 * Keeps the notifier's copy of the tokens current: applies each token event (idempotent, revision
 * guarded), and takes the token service's snapshot on start, periodically, and soon after a gap in
 * revisions (core NATS delivers at most once; a snapshot heals whatever was missed).
 */
export class TokenReplicaService {
  private readonly logger = new Logger('TokenReplica');
  private highestRevision = 0;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private lastGapResync = 0;
  private startedAt = 0;

  constructor(
    private readonly repo: TokenReplicaRepository,
    private readonly rpc: Pick<RpcClient, 'request'>,
    private readonly clock: Clock,
    private readonly scheduler: Kickable,
    private readonly resyncMs: number,
    private readonly gate: SyncGate = new SyncGate(),
  ) {}

  start(): void {
    this.stopped = false;
    this.startedAt = Date.now();
    void this.resync();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  async onChange(event: TokenChanged): Promise<void> {
    const applied = await this.repo.apply(toReplicaToken(event.token), event.kind === 'deleted', event.revision, this.clock.now());
    const gap = this.gate.synced && event.revision > this.highestRevision + 1;
    this.highestRevision = Math.max(this.highestRevision, event.revision);
    if (gap && Date.now() - this.lastGapResync > Math.min(5000, this.resyncMs)) {
      // Revisions are shared with other replicated data, so a gap may be harmless; resync anyway (rate-limited).
      this.lastGapResync = Date.now();
      this.logger.debug(`Revision gap before ${event.revision}; resyncing`);
      this.schedule(0);
    }
    if (applied) this.scheduler.kick();
  }

  /** Takes and applies a snapshot; on failure retries soon. Never throws. */
  resync(): Promise<void> {
    if (this.running) return this.running;
    this.running = (async () => {
      let nextMs = this.resyncMs;
      try {
        const snapshot = await this.rpc.request(TokensSnapshot, {});
        const result = await this.repo.applySnapshot(snapshot.tokens.map(toReplicaToken), snapshot.revision, this.clock.now());
        this.highestRevision = Math.max(this.highestRevision, snapshot.revision);
        if (!this.gate.synced || result.upserted || result.deleted) {
          this.logger.log(`Snapshot at revision ${snapshot.revision}: ${snapshot.tokens.length} tokens (${result.upserted} changed, ${result.deleted} gone)`);
        }
        this.gate.synced = true;
        this.scheduler.kick();
      } catch (error) {
        nextMs = Math.min(this.resyncMs, 2000);
        const message = `Token snapshot failed (${(error as Error).message}); retrying in ${nextMs} ms`;
        if (!this.gate.synced && Date.now() - this.startedAt < STARTUP_GRACE_MS) this.logger.log(`${message} (starting up)`);
        else this.logger.warn(message);
      } finally {
        this.running = undefined;
        this.schedule(nextMs);
      }
    })();
    return this.running;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.resync(), ms);
    this.timer.unref?.();
  }
}
