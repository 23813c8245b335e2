import {
  ApplicationChangedEvent,
  ChangeFollower,
  PolicyChangedEvent,
  ReplicaChanges,
  ReplicaHead,
  TokenCreated,
  TokenDeleted,
  TokenRefreshed,
  TokenRotated,
  TokenUpdated,
} from '@gatehouse/contracts';
import type { NatsBus } from './nats-bus.js';
import type { Replica, ReplicaEvent } from './replica.js';

export interface Log {
  log(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

/**
 * Keeps the replica current with the shared ChangeFollower: pages from -1 at start, then follows.
 * Change events are applied at once (revocations must not wait) and are hints: a gap, a NATS
 * reconnect or a newer head seen by the slow poll makes the follower pull the missing changes.
 */
export class ReplicaSync {
  readonly follower: ChangeFollower;

  constructor(
    private readonly bus: NatsBus,
    private readonly replica: Replica,
    pollMs: number,
    private readonly log: Log,
  ) {
    this.follower = new ChangeFollower(
      {
        changes: (request) => bus.request(ReplicaChanges, request),
        head: async () => (await bus.request(ReplicaHead, {}, Math.min(5000, pollMs))).head,
      },
      replica,
      { maxPayload: () => bus.maxPayload(), pollMs, log },
    );
  }

  get lastError(): string | null {
    return this.follower.lastError;
  }

  get lastSyncAt(): number | null {
    return this.follower.lastSyncAt;
  }

  /** Subscribes, then pulls until caught up (retrying). Resolves once the replica is loaded. */
  async start(): Promise<void> {
    const invalid = (e: Error) => this.log.warn(`Ignored an invalid event: ${e.message}`);
    const onEvent = (e: ReplicaEvent) => {
      if (this.replica.applyEvent(e) === 'gap') this.follower.hint(e.payload.revision);
    };
    for (const c of [TokenCreated, TokenUpdated, TokenRefreshed, TokenRotated, TokenDeleted]) {
      this.bus.subscribe(c, (payload) => onEvent({ type: 'token', payload }), invalid);
    }
    this.bus.subscribe(ApplicationChangedEvent, (payload) => onEvent({ type: 'app', payload }), invalid);
    this.bus.subscribe(PolicyChangedEvent, (payload) => onEvent({ type: 'policy', payload }), invalid);
    // Whatever was published while we were cut off is lost on core NATS: pull on reconnect.
    this.bus.onReconnect(() => this.follower.hint());
    await this.bus.nc.flush();
    await this.follower.start();
  }

  stop(): void {
    this.follower.stop();
  }
}
