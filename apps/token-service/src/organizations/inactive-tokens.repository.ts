import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';

/**
 * Tokens of an account unused since `cutoff`: last_seen_at (else created_at) before it, and no
 * admitted access decision naming the token in the audit log since then (the access log is
 * durable, last_seen_at is best effort; either proves use). For `disable`, enabled ones only.
 */
@Injectable()
export class InactiveTokensRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Oldest first; `after` (the last row of the previous batch) pages on by keyset. */
  async candidates(accountId: string, cutoff: Date, enabledOnly: boolean, limit: number, after?: InactiveCandidate): Promise<InactiveCandidate[]> {
    const rows: InactiveCandidate[] = await this.dataSource.query(
      `SELECT t.id, t.name, COALESCE(t.last_seen_at, t.created_at)::text AS since FROM service_tokens t
        WHERE t.account_id = $1 AND COALESCE(t.last_seen_at, t.created_at) < $2 AND ($3::boolean = false OR t.enabled)
          AND ($5::timestamptz IS NULL OR (COALESCE(t.last_seen_at, t.created_at), t.id) > ($5::timestamptz, $6::uuid))
          AND NOT EXISTS (
            SELECT 1 FROM audit_events e
             WHERE e.account_id = $1 AND e.metadata->>'tokenId' = t.id::text AND e.action = 'access.allowed' AND e.occurred_at >= $2)
        ORDER BY COALESCE(t.last_seen_at, t.created_at), t.id
        LIMIT $4`,
      [accountId, cutoff, enabledOnly, limit, after?.since ?? null, after?.id ?? null],
    );
    return rows;
  }
}

export interface InactiveCandidate {
  id: string;
  name: string;
  /** last_seen_at, else created_at, as PostgreSQL prints it (full microsecond precision, for the keyset). */
  since: string;
}
