import type { Actor } from '@gatehouse/contracts';
import type { Tx } from '../database/unit-of-work.js';

export interface AuditEntry {
  accountId: string;
  action: string;
  actor: Actor;
  resourceType: string;
  resourceId: string | null;
  resourceName: string | null;
  occurredAt: Date;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- stored as jsonb
  metadata: Record<string, any>;
}

/**
 * Inside a change's transaction: bumps the replication revision and appends the audit event, so
 * a change, its audit line and its revision commit together or not at all.
 */
export interface Ledger {
  bumpRevision(tx: Tx): Promise<number>;
  append(tx: Tx, entry: AuditEntry): Promise<void>;
}
export const LEDGER = Symbol('LEDGER');
