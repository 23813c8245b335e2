import { ChangeFollower, ReplicaChangesCompact, ReplicaHead } from '@gatehouse/contracts';
import type { RpcClient } from '@gatehouse/nest-kit';
import type { Replica, ReplicaEvent } from './replica.js';

/** The gateway's log (bootstrap's consoleLog, or a test's). */
export const GATEWAY_LOG = Symbol('GATEWAY_LOG');

/**
 * A cold start reads this many revision ranges at once: the token service and PostgreSQL work on
 * the next pages while the gateway applies others (the replica keeps the newest record per entity,
 * so the order does not matter).
 */
const COLD_START_CHAINS = 3;

export interface Log {
  log(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
  /** Structured fields at debug level; absent when the level is above debug (nothing to format). */
  debug?(fields: Record<string, unknown>, msg: string): void;
}

/**
 * Keeps the replica current with the shared ChangeFollower: pages from -1 at start, then follows.
 * Change events are applied at once (revocations must not wait) and are hints: a gap, a NATS
 * reconnect or a newer head seen by the slow poll makes the follower pull the missing changes.
 */
export class ReplicaSync {
  readonly follower: ChangeFollower;

  constructor(
    rpc: Pick<RpcClient, 'request'>,
    private readonly replica: Replica,
    pollMs: number,
    maxPayload: () => number,
    log: Log,
  ) {
    this.follower = new ChangeFollower(
      {
        changes: (request) => rpc.request(ReplicaChangesCompact, request),
        head: async () => (await rpc.request(ReplicaHead, {})).head,
      },
      replica,
      { maxPayload, pollMs, log, coldStartChains: COLD_START_CHAINS },
    );
  }

  get lastError(): string | null {
    return this.follower.lastError;
  }

  get lastSyncAt(): number | null {
    return this.follower.lastSyncAt;
  }

  /** A change event (from the event handlers). */
  onEvent(e: ReplicaEvent): void {
    if (this.replica.applyEvent(e) === 'gap') this.follower.hint(e.payload.revision);
  }

  /** Whatever was published while we were cut off is lost on core NATS: pull now. */
  onReconnect(): void {
    this.follower.hint();
  }

  /** Pulls until caught up (retrying). Resolves once the replica is loaded. */
  start(): Promise<void> {
    return this.follower.start();
  }

  stop(): Promise<void> {
    return this.follower.stop();
  }
}
