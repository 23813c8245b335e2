import type { DataSource } from 'typeorm';

/**
 * Tokens of an account unused since `cutoff`: last_seen_at (else created_at) before it, and no
 * admitted access decision naming the token in the audit log since then (the access log is
 * durable, last_seen_at is best effort; either proves use). For `disable`, enabled ones only.
 */
export class InactiveTokensRepository {
  constructor(private readonly dataSource: DataSource) {}

  async candidates(accountId: string, cutoff: Date, enabledOnly: boolean, limit: number, skip: string[] = []): Promise<Array<{ id: string; name: string }>> {
    return this.dataSource.query(
      `SELECT t.id, t.name FROM service_tokens t
        WHERE t.account_id = $1 AND COALESCE(t.last_seen_at, t.created_at) < $2 AND ($3::boolean = false OR t.enabled) AND NOT (t.id = ANY($5::uuid[]))
          AND NOT EXISTS (
            SELECT 1 FROM audit_events e
             WHERE e.account_id = $1 AND e.metadata->>'tokenId' = t.id::text AND e.action = 'access.allowed' AND e.occurred_at >= $2)
        ORDER BY COALESCE(t.last_seen_at, t.created_at), t.id
        LIMIT $4`,
      [accountId, cutoff, enabledOnly, limit, skip],
    );
  }
}
