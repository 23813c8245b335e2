import type { VerifierToken } from '@gatehouse/contracts';
import type { DataSource } from 'typeorm';
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
 */
export class TokenReplicaRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Applies one change (an event). Returns true when it was newer than what we had. */
  async apply(token: ReplicaToken, deleted: boolean, revision: number, now: Date): Promise<boolean> {
    const rows: unknown[] = await sqlRows(this.dataSource, 
      `INSERT INTO alert_tokens AS a (token_id, account_id, name, client_id, duration, expires_at, enabled, deleted, revision, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
       ON CONFLICT (token_id) DO UPDATE SET account_id = EXCLUDED.account_id, name = EXCLUDED.name, client_id = EXCLUDED.client_id,
         duration = EXCLUDED.duration, expires_at = EXCLUDED.expires_at, enabled = EXCLUDED.enabled, deleted = EXCLUDED.deleted,
         revision = EXCLUDED.revision, updated_at = EXCLUDED.updated_at
       WHERE a.revision < EXCLUDED.revision
       RETURNING token_id`,
      [token.id, token.accountId, token.name, token.clientId, token.duration, token.expiresAt, token.enabled, deleted, revision, now],
    );
    return rows.length > 0;
  }

  /**
   * Applies a full snapshot taken at `revision`, in one transaction: every token in it is upserted
   * (unless a newer event got here first), every live token missing from it becomes a tombstone.
   */
  async applySnapshot(tokens: ReplicaToken[], revision: number, now: Date): Promise<{ upserted: number; deleted: number }> {
    return this.dataSource.transaction(async (m) => {
      const up: unknown[] = await sqlRows(m, 
        `INSERT INTO alert_tokens AS a (token_id, account_id, name, client_id, duration, expires_at, enabled, deleted, revision, updated_at)
         SELECT u.id, u.account_id, u.name, u.client_id, u.duration, u.expires_at, u.enabled, false, $8, $9
           FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::boolean[])
             AS u(id, account_id, name, client_id, duration, expires_at, enabled)
         ON CONFLICT (token_id) DO UPDATE SET account_id = EXCLUDED.account_id, name = EXCLUDED.name, client_id = EXCLUDED.client_id,
           duration = EXCLUDED.duration, expires_at = EXCLUDED.expires_at, enabled = EXCLUDED.enabled, deleted = false,
           revision = EXCLUDED.revision, updated_at = EXCLUDED.updated_at
         WHERE a.revision < EXCLUDED.revision
         RETURNING token_id`,
        [...columns(tokens), revision, now],
      );
      const gone: unknown[] = await sqlRows(m, 
        `UPDATE alert_tokens SET deleted = true, revision = $2, updated_at = $3
          WHERE NOT deleted AND revision < $2 AND NOT (token_id = ANY($1::uuid[]))
          RETURNING token_id`,
        [tokens.map((t) => t.id), revision, now],
      );
      await sqlRows(m, `UPDATE alert_sync_state SET revision = GREATEST(revision, $1), synced_at = $2 WHERE id = 1`, [revision, now]);
      return { upserted: up.length, deleted: gone.length };
    });
  }

  async syncedRevision(): Promise<number> {
    const [row] = (await sqlRows(this.dataSource, `SELECT revision FROM alert_sync_state WHERE id = 1`)) as Array<{ revision: string }>;
    return Number(row?.revision ?? 0);
  }
}
