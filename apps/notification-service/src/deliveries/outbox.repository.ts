import { ALERT_LEAD_MS, EXPIRING_SERVICE_TOKEN_ALERT, type AlertDelivery, type Page } from '@gatehouse/contracts';
import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { sqlRows } from '../database/sql.js';

export interface ClaimedDelivery {
  id: string;
  accountId: string;
  policyId: string;
  policyName: string;
  mechanism: 'email' | 'webhook';
  target: string;
  tokenId: string;
  tokenName: string;
  clientId: string;
  duration: string;
  expiresAt: Date;
  attempts: number;
}

/** A delivery still wanted: its token is live with the same expiry and its policy still names the target. */
const STILL_WANTED = `
  JOIN alert_tokens t ON t.token_id = d.token_id AND NOT t.deleted AND t.enabled AND t.expires_at = d.expires_at AND t.expires_at > $1
  JOIN alert_policies p ON p.id = d.policy_id AND p.enabled
   AND ((d.mechanism = 'email' AND d.target = ANY(p.emails)) OR (d.mechanism = 'webhook' AND d.target = ANY(p.webhook_ids::text[])))`;

/** Rows a sender may take: due pending ones, and "sending" ones whose sender's lease ran out (it crashed). */
const CLAIMABLE = `((d.status = 'pending' AND d.next_attempt_at <= $1) OR (d.status = 'sending' AND d.lease_until <= $1))`;

/** A row of `alert_deliveries` as `SELECT *` returns it (pg parses timestamptz into Date). */
interface DeliveryRow {
  id: string;
  account_id: string;
  policy_id: string;
  policy_name: string;
  mechanism: AlertDelivery['mechanismType'];
  target: string;
  token_id: string;
  token_name: string;
  client_id: string;
  expires_at: Date;
  due_at: Date;
  status: AlertDelivery['status'];
  attempts: number;
  next_attempt_at: Date;
  last_error: string | null;
  sent_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

/**
 * The outbox. All state changes are single SQL statements, safe to run from several replicas at
 * once: materialising relies on the UNIQUE idempotency key, claiming on FOR UPDATE SKIP LOCKED.
 */
@Injectable()
export class OutboxRepository {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * Writes a pending delivery for every (enabled policy, recipient, live token, expiry) that is due:
   * seven days before expiry, or now if that moment has passed and the token has not expired.
   */
  async materialise(now: Date): Promise<number> {
    const rows: unknown[] = await sqlRows(
      this.dataSource,
      `INSERT INTO alert_deliveries (account_id, alert_type, policy_id, policy_name, mechanism, target, token_id, token_name, client_id,
                                     expires_at, due_at, status, attempts, next_attempt_at, created_at, updated_at)
       SELECT t.account_id, $3, p.id, p.name, m.mechanism, m.target, t.token_id, t.name, t.client_id,
              t.expires_at, GREATEST(t.expires_at - make_interval(secs => $2 / 1000.0), $1), 'pending', 0, $1, $1, $1
         FROM alert_tokens t
         JOIN alert_policies p ON p.account_id = t.account_id AND p.enabled AND p.alert_type = $3
         CROSS JOIN LATERAL (
           SELECT 'email' AS mechanism, e AS target FROM unnest(p.emails) AS e
           UNION ALL SELECT 'webhook', w::text FROM unnest(p.webhook_ids) AS w
         ) m
        WHERE NOT t.deleted AND t.enabled AND t.expires_at > $1 AND t.expires_at <= $1 + make_interval(secs => $2 / 1000.0)
       ON CONFLICT ON CONSTRAINT alert_deliveries_idempotency_key DO NOTHING
       RETURNING id`,
      [now, ALERT_LEAD_MS, EXPIRING_SERVICE_TOKEN_ALERT],
    );
    return rows.length;
  }

  /** Cancels claimable deliveries nobody wants any more, saying why (for the history). */
  async cancelUnwanted(now: Date): Promise<number> {
    const rows: unknown[] = await sqlRows(
      this.dataSource,
      `UPDATE alert_deliveries d SET status = 'cancelled', lease_until = NULL, updated_at = $1, last_error = x.reason
         FROM (
           SELECT d.id, CASE
               WHEN t.token_id IS NULL OR t.deleted THEN 'token deleted'
               WHEN NOT t.enabled THEN 'token disabled'
               WHEN t.expires_at IS NULL THEN 'token no longer expires'
               WHEN t.expires_at <> d.expires_at THEN 'token expiry changed (refreshed or updated)'
               WHEN t.expires_at <= $1 THEN 'token expired before the alert could be delivered'
               WHEN p.id IS NULL THEN 'alert policy deleted'
               WHEN NOT p.enabled THEN 'alert policy disabled'
               WHEN d.mechanism = 'email' AND NOT (d.target = ANY(p.emails)) THEN 'recipient removed from the alert policy'
               WHEN d.mechanism = 'webhook' AND NOT (d.target = ANY(p.webhook_ids::text[])) THEN 'webhook removed from the alert policy'
             END AS reason
             FROM alert_deliveries d
             LEFT JOIN alert_tokens t ON t.token_id = d.token_id
             LEFT JOIN alert_policies p ON p.id = d.policy_id
            WHERE ${CLAIMABLE}
         ) x
        WHERE d.id = x.id AND x.reason IS NOT NULL AND (d.status = 'pending' OR (d.status = 'sending' AND d.lease_until <= $1))
       RETURNING d.id`,
      [now],
    );
    return rows.length;
  }

  /** Takes up to `limit` due deliveries for this sender: status `sending`, leased until `leaseUntil`. */
  async claim(now: Date, limit: number, leaseUntil: Date): Promise<ClaimedDelivery[]> {
    const rows: Array<Record<string, unknown>> = await sqlRows(
      this.dataSource,
      `WITH c AS (
         SELECT d.id, t.duration FROM alert_deliveries d ${STILL_WANTED}
          WHERE ${CLAIMABLE}
          ORDER BY d.next_attempt_at, d.id
          LIMIT $2
          FOR UPDATE OF d SKIP LOCKED
       )
       UPDATE alert_deliveries d SET status = 'sending', lease_until = $3, attempts = d.attempts + 1, updated_at = $1
         FROM c WHERE d.id = c.id
       RETURNING d.id, d.account_id, d.policy_id, d.policy_name, d.mechanism, d.target, d.token_id, d.token_name, d.client_id,
                 c.duration, d.expires_at, d.attempts`,
      [now, limit, leaseUntil],
    );
    return rows.map((r) => ({
      id: r.id as string,
      accountId: r.account_id as string,
      policyId: r.policy_id as string,
      policyName: r.policy_name as string,
      mechanism: r.mechanism as 'email' | 'webhook',
      target: r.target as string,
      tokenId: r.token_id as string,
      tokenName: r.token_name as string,
      clientId: r.client_id as string,
      duration: r.duration as string,
      expiresAt: r.expires_at as Date,
      attempts: Number(r.attempts),
    }));
  }

  async markSent(ids: string[], now: Date): Promise<void> {
    await sqlRows(
      this.dataSource,
      `UPDATE alert_deliveries SET status = 'sent', sent_at = $2, lease_until = NULL, last_error = NULL, updated_at = $2
        WHERE id = ANY($1::uuid[]) AND status = 'sending'`,
      [ids, now],
    );
  }

  /** A failed attempt: back to pending at `nextAttemptAt`, or `failed` for good. */
  async markFailed(id: string, now: Date, error: string, nextAttemptAt: Date | null): Promise<void> {
    await sqlRows(
      this.dataSource,
      `UPDATE alert_deliveries SET status = $3, next_attempt_at = COALESCE($4, next_attempt_at), lease_until = NULL, last_error = $5, updated_at = $2
        WHERE id = $1 AND status = 'sending'`,
      [id, now, nextAttemptAt ? 'pending' : 'failed', nextAttemptAt, error],
    );
  }

  /** What waits to be sent (pending or sending) and since when the oldest has been due, for the metrics. */
  async backlog(now: Date): Promise<{ depth: number; oldestDueAt: Date | null }> {
    const [row] = await sqlRows<{ depth: number; oldest: Date | null }>(
      this.dataSource,
      `SELECT count(*)::int AS depth, min(due_at) FILTER (WHERE due_at <= $1) AS oldest
         FROM alert_deliveries WHERE status IN ('pending', 'sending')`,
      [now],
    );
    return { depth: row?.depth ?? 0, oldestDueAt: row?.oldest ?? null };
  }

  /** Earliest moment a pending delivery becomes due (to wake up for a retry). */
  async nextWakeUp(): Promise<Date | null> {
    const [row] = await sqlRows<{ at: Date | null }>(
      this.dataSource,
      `SELECT min(CASE WHEN status = 'pending' THEN next_attempt_at ELSE lease_until END) AS at
         FROM alert_deliveries WHERE status IN ('pending', 'sending')`,
    );
    return row?.at ?? null;
  }

  async history(accountId: string, filter: { tokenId?: string; since?: string; before?: string }, page: number, perPage: number): Promise<Page<AlertDelivery>> {
    const where = ['account_id = $1'];
    const params: unknown[] = [accountId];
    if (filter.tokenId) where.push(`token_id = $${params.push(filter.tokenId)}`);
    if (filter.since) where.push(`created_at >= $${params.push(filter.since)}`);
    if (filter.before) where.push(`created_at < $${params.push(filter.before)}`);
    const clause = where.join(' AND ');
    const [{ count }] = (await sqlRows(this.dataSource, `SELECT count(*)::int AS count FROM alert_deliveries WHERE ${clause}`, params)) as [{ count: number }];
    const rows = await sqlRows<DeliveryRow>(
      this.dataSource,
      `SELECT * FROM alert_deliveries WHERE ${clause} ORDER BY created_at DESC, id DESC LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
      [...params, perPage, (page - 1) * perPage],
    );
    const iso = (d: Date | null) => (d ? d.toISOString() : null);
    return {
      items: rows.map((r) => ({
        id: r.id,
        accountId: r.account_id,
        alertType: EXPIRING_SERVICE_TOKEN_ALERT,
        policyId: r.policy_id,
        policyName: r.policy_name,
        mechanismType: r.mechanism,
        target: r.target,
        token: { id: r.token_id, name: r.token_name, clientId: r.client_id, expiresAt: r.expires_at.toISOString() },
        status: r.status,
        attempts: r.attempts,
        lastError: r.last_error,
        dueAt: r.due_at.toISOString(),
        nextAttemptAt: r.next_attempt_at.toISOString(),
        sentAt: iso(r.sent_at),
        createdAt: r.created_at.toISOString(),
        updatedAt: r.updated_at.toISOString(),
      })),
      page,
      perPage,
      totalCount: count,
    };
  }
}
