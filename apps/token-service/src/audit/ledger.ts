import type { Actor, ReplicatedEntity } from '@gatehouse/contracts';
import type { Tx } from '../database/unit-of-work.js';

export interface AuditEntry {
  accountId: string;
  action: string;
  actor: Actor;
  resourceType: string;
  resourceId: string | null;
  resourceName: string | null;
  occurredAt: Date;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- stored as jsonb (the entity's type, see audit-event.entity.ts)
  metadata: Record<string, any>;
}

/** A replicated row a change wrote (or deleted: then it leaves a tombstone). */
export interface Touched {
  entity: ReplicatedEntity;
  id: string;
  deleted: boolean;
}

/**
 * Inside a change's transaction: takes the change's replication revision, stamps it on the rows the
 * change touched (tombstones for deleted ones) and appends the audit event, so a change, its audit
 * line and its revision commit together or not at all. Writers do not wait for each other:
 * revisions may commit out of order, and the feed serves only up to the safe revision below every
 * one still in flight (docs/replication.md, "Concurrent writers").
 */
export interface Ledger {
  bumpRevision(tx: Tx, touched: Touched[]): Promise<number>;
  append(tx: Tx, entry: AuditEntry): Promise<void>;
}
export const LEDGER = Symbol('LEDGER');
