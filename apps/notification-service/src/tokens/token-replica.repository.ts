import type { ChangeRecord, TokenRow, VerifierToken } from '@gatehouse/contracts';
import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { sqlRows } from '../database/sql.js';

export interface ReplicaToken {
  id: string;
  accountId: string;
  name: string;
  clientId: string;
  duration: string;
  expiresAt: string | null;
  enabled: boolean;
}

const columns = (tokens: ReplicaToken[]) => [
  tokens.map((t) => t.id),
  tokens.map((t) => t.accountId),
  tokens.map((t) => t.name),
  tokens.map((t) => t.clientId),
  tokens.map((t) => t.duration),
  tokens.map((t) => t.expiresAt),
  tokens.map((t) => t.enabled),
];

export function toReplicaToken(t: VerifierToken): ReplicaToken {
  return { id: t.id, accountId: t.accountId, name: t.name, clientId: t.clientId, duration: t.duration, expiresAt: t.expiresAt, enabled: t.enabled };
}

/**
 * The notifier's copy of the tokens. Every write is an upsert guarded by the revision, so applying
 * the same change twice, out of order, or at two replicas at once leaves the newest state.
 * Deleted tokens stay as tombstone rows.
 */
@Injectable()
export class TokenReplicaRepository {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * Applies records of the change feed (tokens, as records or v3 rows, and token tombstones) in one statement each. A
   * record older than the row is ignored; a tombstone for an unknown token is kept as a deleted
   * row, so an older event arriving later cannot bring the token back. Returns how many changed.
   */
  async applyRecords(records: ChangeRecord[], now: Date, rows: readonly TokenRow[] = []): Promise<number> {
    const live = records.flatMap((r) => (r.type === 'token' ? [{ ...toReplicaToken(r.token), revision: r.revision }] : []));
    for (const [revision, id, accountId, name, clientId, duration, enabled, expiresAtMs] of rows)
      live.push({ id, accountId, name, clientId, duration, enabled, expiresAt: expiresAtMs === null ? null : new Date(expiresAtMs).toISOString(), revision });
    const dead = records.flatMap((r) => (r.type === 'tombstone' && r.entity === 'token' ? [r] : []));
    let changed = 0;
    if (live.length) {
      const rows: unknown[] = await sqlRows(
        this.dataSource,
        `INSERT INTO alert_tokens AS a (token_id, account_id, name, client_id, duration, expires_at, enabled, deleted, revision, updated_at)
         SELECT DISTINCT ON (u.id) u.id, u.account_id, u.name, u.client_id, u.duration, u.expires_at, u.enabled, false, u.revision, $9
           FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::boolean[], $8::bigint[])
             AS u(id, account_id, name, client_id, duration, expires_at, enabled, revision)
          ORDER BY u.id, u.revision DESC
         ON CONFLICT (token_id) DO UPDATE SET account_id = EXCLUDED.account_id, name = EXCLUDED.name, client_id = EXCLUDED.client_id,
           duration = EXCLUDED.duration, expires_at = EXCLUDED.expires_at, enabled = EXCLUDED.enabled, deleted = false,
           revision = EXCLUDED.revision, updated_at = EXCLUDED.updated_at
         WHERE a.revision < EXCLUDED.revision
         RETURNING token_id`,
        [...columns(live), live.map((t) => t.revision), now],
      );
      changed += rows.length;
    }
    if (dead.length) {
      const rows: unknown[] = await sqlRows(
        this.dataSource,
        `INSERT INTO alert_tokens AS a (token_id, account_id, name, client_id, duration, expires_at, enabled, deleted, revision, updated_at)
         SELECT DISTINCT ON (u.id) u.id, '00000000-0000-0000-0000-000000000000', '', '', '', NULL, false, true, u.revision, $3
           FROM unnest($1::uuid[], $2::bigint[]) AS u(id, revision)
          ORDER BY u.id, u.revision DESC
         ON CONFLICT (token_id) DO UPDATE SET deleted = true, revision = EXCLUDED.revision, updated_at = EXCLUDED.updated_at
         WHERE a.revision < EXCLUDED.revision
         RETURNING token_id`,
        [dead.map((d) => d.id), dead.map((d) => d.revision), now],
      );
      changed += rows.length;
    }
    return changed;
  }

  /**
   * Fresh planner statistics for the copy. After a cold start wrote a fleet into an empty table,
   * PostgreSQL still planned the scheduler's statement for an empty one (a sequential scan of every
   * token, ~30 ms, on each pass) until autovacuum's next visit, up to a minute later.
   */
  async analyze(): Promise<void> {
    await sqlRows(this.dataSource, `ANALYZE alert_tokens`);
  }

  /** Every change up to `revision` is applied. */
  async markSynced(revision: number, now: Date): Promise<void> {
    await sqlRows(this.dataSource, `UPDATE alert_sync_state SET revision = GREATEST(revision, $1), synced_at = $2 WHERE id = 1`, [revision, now]);
  }

  /** Behind the feed's tombstone floor: every row becomes unknown (revision -1) until the reload re-confirms it. */
  async forgetAll(): Promise<void> {
    await this.dataSource.transaction(async (m) => {
      await sqlRows(m, `UPDATE alert_tokens SET deleted = true, revision = -1`);
      await sqlRows(m, `UPDATE alert_sync_state SET revision = 0, synced_at = NULL WHERE id = 1`);
    });
  }

  /** The revision the copy is complete to; -1 before the first complete pull. */
  async syncedRevision(): Promise<number> {
    const [row] = await sqlRows<{ revision: string; synced_at: Date | null }>(this.dataSource, `SELECT revision, synced_at FROM alert_sync_state WHERE id = 1`);
    return row?.synced_at ? Number(row.revision) : -1;
  }
}
