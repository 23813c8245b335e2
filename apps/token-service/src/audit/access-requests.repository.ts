import { Injectable } from '@nestjs/common';
import type { AccessRequestRecord } from '@gatehouse/contracts';
import { DataSource } from 'typeorm';

export interface AccessRequestQuery {
  since?: Date;
  until?: Date;
  direction: 'asc' | 'desc';
  /** Only the entry of this decision id (the gateway's `Cf-Ray`). */
  rayId?: string;
  /** Caps the records listed in all (pages stop there). */
  limit?: number;
  page: number;
  perPage: number;
}

interface Row {
  id: string;
  occurred_at: Date;
  action: string;
  resource_id: string | null;
  resource_name: string | null;
  metadata: Record<string, unknown>;
  actor: { id?: unknown } | null;
  app_domain: string | null;
  total: string;
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/**
 * The gateway's decisions (audit actions `access.allowed` / `access.denied`), newest or oldest
 * first, read through the partial index `audit_events_access_requests` (account, time, id); a
 * `rayId` filter scans the account's decisions in that window (give `since` to keep it short). The
 * app's domain comes from its current row (null once the app is deleted).
 */
@Injectable()
export class AccessRequestsRepository {
  constructor(private readonly dataSource: DataSource) {}

  async list(accountId: string, q: AccessRequestQuery): Promise<{ items: AccessRequestRecord[]; total: number }> {
    const dir = q.direction === 'asc' ? 'ASC' : 'DESC';
    const offset = (q.page - 1) * q.perPage;
    const cap = q.limit ?? Number.MAX_SAFE_INTEGER;
    const take = Math.max(0, Math.min(q.perPage, cap - offset));
    const where = `e.account_id = $1 AND e.action IN ('access.allowed', 'access.denied')
      AND ($2::timestamptz IS NULL OR e.occurred_at >= $2) AND ($3::timestamptz IS NULL OR e.occurred_at <= $3)
      AND ($4::text IS NULL OR e.metadata->>'rayId' = $4)`;
    const params = [accountId, q.since ?? null, q.until ?? null, q.rayId ?? null];
    const [{ total }] = (await this.dataSource.query(`SELECT count(*)::int AS total FROM audit_events e WHERE ${where}`, params)) as [{ total: number }];
    if (take === 0) return { items: [], total: Math.min(total, cap) };
    const rows = (await this.dataSource.query(
      `SELECT e.id, e.occurred_at, e.action, e.resource_id, e.resource_name, e.metadata, e.actor, a.domain AS app_domain
         FROM audit_events e LEFT JOIN access_apps a ON a.id::text = e.resource_id
        WHERE ${where}
        ORDER BY e.occurred_at ${dir}, e.id ${dir}
        OFFSET $5 LIMIT $6`,
      [...params, offset, take],
    )) as Row[];
    return { items: rows.map(toRecord), total: Math.min(total, cap) };
  }
}

function toRecord(r: Row): AccessRequestRecord {
  const m = r.metadata ?? {};
  return {
    id: r.id,
    occurredAt: new Date(r.occurred_at).toISOString(),
    allowed: r.action === 'access.allowed',
    appId: r.resource_id,
    appName: r.resource_name,
    appDomain: r.app_domain,
    tokenId: str(m.tokenId),
    tokenName: str(m.tokenName),
    // The client id as presented: in the metadata, or (older rows) the decision's actor id.
    clientId: str(m.clientId) ?? (str(r.actor?.id) === 'unknown' ? null : str(r.actor?.id)),
    sourceIp: str(m.sourceIp),
    via: str(m.via) ?? 'service_token',
    reason: str(m.reason) ?? '',
    count: typeof m.count === 'number' ? m.count : 1,
    rayId: str(m.rayId),
  };
}
