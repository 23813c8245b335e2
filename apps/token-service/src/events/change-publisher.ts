import type { TokenChanged } from '@gatehouse/contracts';

/**
 * Announces committed changes on NATS. Called after the transaction commits; the event is only a
 * hint (a crash before it, or a lost publish, is healed by the replicas' revision-ordered pull on
 * their next gap, reconnect or head poll; see docs/replication.md).
 */
export interface ChangePublisher {
  tokenChanged(event: TokenChanged): Promise<void>;
}
export const CHANGE_PUBLISHER = Symbol('CHANGE_PUBLISHER');
