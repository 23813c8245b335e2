import type { TokenChanged } from '@gatehouse/contracts';

/**
 * Announces committed changes on NATS. Called after the transaction commits; a publish that fails
 * is logged, not retried: replicas heal by resync (their revision shows the gap).
 */
export interface ChangePublisher {
  tokenChanged(event: TokenChanged): Promise<void>;
}

export interface Clock {
  now(): Date;
}
export const CLOCK = Symbol('CLOCK');
export const systemClock: Clock = { now: () => new Date() };
