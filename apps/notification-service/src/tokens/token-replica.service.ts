import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import {
  ChangeFollower,
  ReplicaChangesCompact,
  ReplicaHead,
  type ChangeRecord,
  type ChangeSink,
  type TokenChanged,
  type TokenRows,
} from '@gatehouse/contracts';
import { CLOCK, NatsServerLimits, RpcClient, type Clock } from '@gatehouse/nest-kit';
import { AlertScheduler } from '../deliveries/alert.scheduler.js';
import { NOTIFICATION_ENV, type NotificationEnv } from '../config/env.js';
import { SyncGate } from './sync-gate.js';
import { TokenReplicaRepository, toReplicaToken } from './token-replica.repository.js';

export interface Kickable {
  kick(): void;
}

/** A pull that wrote at least this many records is a bulk load: the copy's statistics are refreshed. */
export const ANALYZE_AFTER_RECORDS = 10_000;

/**
 * Keeps the notifier's copy of the tokens current with the shared ChangeFollower (tokens only):
 * pages from its stored revision at start, then follows. Each token event is applied at once
 * (idempotent, revision guarded) and is a hint: a gap, a NATS reconnect, or a newer head seen by
 * the slow poll makes it pull what it missed. The scheduler opens once the copy caught up.
 */
@Injectable()
export class TokenReplicaService implements ChangeSink {
  private readonly logger = new Logger('TokenReplica');
  private readonly follower: ChangeFollower;
  private revision = -1;
  /** Records a pull applied since the copy's statistics were last refreshed. */
  private pulledSinceAnalyze = 0;

  constructor(
    private readonly repo: TokenReplicaRepository,
    @Inject(RpcClient) rpc: Pick<RpcClient, 'request'>,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(AlertScheduler) private readonly scheduler: Kickable,
    @Inject(NOTIFICATION_ENV) env: Pick<NotificationEnv, 'GATEHOUSE_NOTIFY_RESYNC_MS'>,
    private readonly gate: SyncGate,
    /** Its max_payload bounds the pages asked for; NATS's default (1 MB) without it. */
    @Optional() @Inject(NatsServerLimits) nats?: Pick<NatsServerLimits, 'maxPayload'>,
  ) {
    this.follower = new ChangeFollower(
      {
        changes: (request) => rpc.request(ReplicaChangesCompact, request),
        head: async () => (await rpc.request(ReplicaHead, {})).head,
      },
      this,
      // Pages may be applied in any order (revision-guarded upserts, in id order: no deadlock), so a
      // cold start reads three revision ranges at once; the watermark moves only when caught up.
      { entities: ['token'], maxPayload: () => nats?.maxPayload() ?? 1_048_576, pollMs: env.GATEHOUSE_NOTIFY_RESYNC_MS, log: this.logger, coldStartChains: 3 },
    );
  }

  async start(): Promise<void> {
    this.revision = await this.repo.syncedRevision();
    void this.follower.start();
  }

  stop(): Promise<void> {
    return this.follower.stop();
  }

  /** Pulls what changed since the copy's revision, now (reconnects; tests). */
  resync(): Promise<void> {
    return this.follower.pull();
  }

  async onChange(event: TokenChanged): Promise<void> {
    if (event.revision <= this.revision) return;
    const record: ChangeRecord =
      event.kind === 'deleted'
        ? { type: 'tombstone', entity: 'token', id: event.token.id, revision: event.revision }
        : { type: 'token', revision: event.revision, token: event.token };
    const applied = await this.repo.applyRecords([record], this.clock.now());
    // Revisions are shared with apps and policies: a gap may be harmless, the pull tells.
    if (event.revision === this.revision + 1 && this.gate.synced) this.revision = event.revision;
    else this.follower.hint(event.revision);
    if (applied) this.scheduler.kick();
  }

  // ChangeSink
  watermark(): number {
    return this.revision;
  }

  async apply(records: ChangeRecord[], tokens: TokenRows): Promise<void> {
    this.pulledSinceAnalyze += records.length + tokens.length;
    if (await this.repo.applyRecords(records, this.clock.now(), tokens.toArray())) this.scheduler.kick();
  }

  async caughtUp(head: number): Promise<void> {
    if (head > this.revision) this.revision = head;
    await this.repo.markSynced(this.revision, this.clock.now());
    if (this.pulledSinceAnalyze >= ANALYZE_AFTER_RECORDS) {
      // A bulk load (a cold start, a reload): statistics now, before the scheduler's passes.
      this.pulledSinceAnalyze = 0;
      await this.repo.analyze().catch((error: unknown) => this.logger.warn(`ANALYZE of the token copy failed: ${(error as Error).message}`));
    }
    if (!this.gate.synced) {
      this.gate.synced = true;
      this.logger.log(`Token copy current at revision ${head}; alerts enabled`);
    }
    this.scheduler.kick();
  }

  async reset(): Promise<void> {
    this.gate.synced = false;
    this.revision = -1;
    await this.repo.forgetAll();
  }
}

export { toReplicaToken };
