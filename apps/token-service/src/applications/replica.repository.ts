import { Injectable } from '@nestjs/common';
import type { ChangeCursor, ChangeRecord, ReplicatedEntity } from '@gatehouse/contracts';
import { DataSource } from 'typeorm';

/** One record with its position in the change order and its size as JSON. */
export interface Positioned {
  at: ChangeCursor;
  record: ChangeRecord;
  bytes: number;
}

export interface PageRows {
  head: number;
  floor: number;
  /** The first `limit` records after the cursor (up to the head), in change order. */
  rows: Positioned[];
  /** `limit` rows came back: more may follow the last one. */
  full: boolean;
}

export interface ChangeStore {
  head(): Promise<number>;
  read(after: ChangeCursor, limit: number, entities: ReplicatedEntity[]): Promise<PageRows>;
}

/** An ISO-8601 string exactly as Date#toISOString writes it (the contracts' IsoDate). */
const iso = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/**
 * An app's linked reusable policies with their rules (contracts `LinkedPolicy`), in the order
 * `ApplicationsRepository.withLinks` gives them: a change to a reusable policy moves each linking
 * app's row to the change's revision, so the feed carries the app again with the new rules.
 */
const LINKED_POLICIES = `COALESCE((SELECT json_agg(json_build_object(
      'id', p.id, 'name', p.name, 'decision', p.decision, 'precedence', l.precedence,
      'include', p.include_rules, 'require', p.require_rules, 'exclude', p.exclude_rules,
      'sessionDuration', p.session_duration, 'createdAt', ${iso('p.created_at')}, 'updatedAt', ${iso('p.updated_at')})
      ORDER BY l.precedence, p.created_at, p.id)
    FROM "access_app_policy_links" l JOIN "access_reusable_policies" p ON p.id = l.policy_id
    WHERE l.app_id = e.id), '[]'::json)`;

/**
 * Each source's record, built as JSON by PostgreSQL in the contract's shape (no per-row work in
 * Node); `key` is the row's id in the change order (an organization's is its account id).
 * A token's dates are PostgreSQL's own JSON form of a timestamptz (ISO 8601 with an offset, e.g.
 * `2027-01-01T10:00:00.123+00:00`, which IsoDate accepts): a million tokens are most of a cold
 * start, and formatting four dates per token with to_char was half of each page's SQL.
 */
const SOURCES = [
  {
    entity: 'token',
    table: 'service_tokens',
    key: 'id',
    record: `json_build_object('type', 'token', 'revision', e.revision, 'token', json_build_object(
      'id', e.id, 'accountId', e.account_id, 'name', e.name, 'clientId', e.client_id, 'duration', e.duration,
      'enabled', e.enabled, 'expiresAt', e.expires_at, 'secretHash', e.secret_hash,
      'clientSecretVersion', e.client_secret_version, 'previousSecretHash', e.previous_secret_hash,
      'previousClientSecretExpiresAt', e.previous_secret_expires_at, 'createdAt', e.created_at, 'updatedAt', e.updated_at))`,
  },
  {
    entity: 'app',
    table: 'access_apps',
    key: 'id',
    record: `json_build_object('type', 'app', 'revision', e.revision, 'app', json_build_object(
      'id', e.id, 'accountId', e.account_id, 'name', e.name, 'domain', e.domain, 'type', e.type,
      'sessionDuration', e.session_duration, 'aud', e.aud, 'upstream', e.upstream,
      'readServiceTokensFromHeader', e.read_service_tokens_from_header, 'sessionsRevokedAt', ${iso('e.sessions_revoked_at')},
      'httpOnlyCookieAttribute', e.http_only_cookie_attribute, 'sameSiteCookieAttribute', e.same_site_cookie_attribute,
      'pathCookieAttribute', e.path_cookie_attribute, 'serviceAuth401Redirect', e.service_auth_401_redirect,
      'tags', e.tags, 'appLauncherVisible', e.app_launcher_visible, 'linkedPolicies', ${LINKED_POLICIES},
      'createdAt', ${iso('e.created_at')}, 'updatedAt', ${iso('e.updated_at')}))`,
  },
  {
    entity: 'policy',
    table: 'access_policies',
    key: 'id',
    record: `json_build_object('type', 'policy', 'revision', e.revision, 'policy', json_build_object(
      'id', e.id, 'accountId', e.account_id, 'appId', e.app_id, 'name', e.name, 'decision', e.decision,
      'precedence', e.precedence, 'include', e.include_rules, 'require', e.require_rules, 'exclude', e.exclude_rules,
      'createdAt', ${iso('e.created_at')}, 'updatedAt', ${iso('e.updated_at')}))`,
  },
  {
    entity: 'organization',
    table: 'access_organizations',
    key: 'account_id',
    record: `json_build_object('type', 'organization', 'revision', e.revision, 'organization', json_build_object(
      'accountId', e.account_id, 'name', e.name, 'authDomain', e.auth_domain, 'sessionDuration', e.session_duration,
      'strictServiceTokenAuth', e.strict_service_token_auth,
      'serviceTokenInactivity', json_build_object('enabled', e.inactivity_enabled, 'inactivityThresholdDays', e.inactivity_threshold_days, 'action', e.inactivity_action),
      'createdAt', ${iso('e.created_at')}, 'updatedAt', ${iso('e.updated_at')}))`,
  },
  {
    entity: null,
    table: 'replica_tombstones',
    key: 'id',
    record: `json_build_object('type', 'tombstone', 'revision', e.revision, 'entity', e.entity, 'id', e.id)`,
  },
] as const;

/**
 * Reads one page of the replicated tables in revision order up to the safe revision (the page's
 * head), in one statement after it: each source is an index range scan on (revision, id).
 */
@Injectable()
export class ReplicaRepository implements ChangeStore {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * The safe revision: every revision up to it has committed or aborted (writers take revisions from
   * a sequence and commit in any order; see migration 1768400000000 and docs/replication.md).
   */
  async head(): Promise<number> {
    const rows: Array<{ head: string }> = await this.dataSource.query(`SELECT replica_safe_revision() AS head`);
    return Number(rows[0]!.head);
  }

  async read([revision, k, id]: ChangeCursor, limit: number, entities: ReplicatedEntity[]): Promise<PageRows> {
    // The safe revision first, then the page in a later statement (a later snapshot): every
    // revision up to it that committed is visible to the page, and no page reaches past it, so a
    // lower revision committing after a higher one is never skipped.
    const safe = await this.head();
    // Step 1, positions only (index-only range scans): each source's first `limit` rows after the
    // cursor; their merged first `limit` are the page's rows, in change order. Step 2 builds the
    // JSON of just those rows (building every source's `limit` records cost 2-5× the work).
    // Position order is (revision, source, id): sources before the cursor's need a higher revision,
    // the cursor's own continues after its id, later sources may share the cursor's revision.
    const sources = SOURCES.map((s, source) => ({ ...s, source })).filter((s) => !s.entity || entities.includes(s.entity));
    const positions = sources.map(({ table, key, entity, source }) => {
      const after = source < k ? 'e.revision > $1' : source === k ? `(e.revision, e.${key}) > ($1, $2::uuid)` : 'e.revision >= $1';
      const only = entity ? '' : ' AND e.entity = ANY($4::text[])';
      return `(SELECT ${source} AS source, e.revision, e.${key} AS id FROM "${table}" e WHERE ${after} AND e.revision <= $5${only} ORDER BY e.revision, e.${key} LIMIT $3)`;
    });
    const records = sources.map(
      ({ table, key, record, source }) =>
        `(SELECT c.source, c.revision, c.id, ${record} AS record FROM c JOIN "${table}" e ON e.${key} = c.id WHERE c.source = ${source})`,
    );
    const rows: Array<{ floor: string; source: number | null; revision: string | null; id: string | null; record: ChangeRecord | null; bytes: number | null }> =
      await this.dataSource.query(
        `WITH c AS MATERIALIZED (SELECT * FROM (${positions.join(' UNION ALL ')}) u ORDER BY revision, source, id LIMIT $3),
            x AS (SELECT *, octet_length(record::text) AS bytes FROM (${records.join(' UNION ALL ')}) r)
       SELECT st.floor, x.source, x.revision, x.id, x.record, x.bytes
         FROM replication_state st LEFT JOIN x ON true
        WHERE st.id = 1`,
        [revision, id, limit, entities, safe],
      );
    const page: Positioned[] = [];
    for (const r of rows) {
      if (r.source === null || !r.record) continue;
      // PostgreSQL's JSON text (with spaces the reply has not): an upper bound of its size in the reply.
      page.push({ at: [Number(r.revision), r.source, r.id!], record: r.record, bytes: Number(r.bytes) });
    }
    page.sort((a, b) => compareCursors(a.at, b.at));
    return { head: safe, floor: Number(rows[0]?.floor ?? 0), rows: page, full: page.length === limit };
  }

  /** Drops tombstones older than `before` and raises the floor to the highest dropped revision. */
  async purgeTombstones(before: Date): Promise<number> {
    return this.dataSource.transaction(async (m) => {
      const [rows]: [Array<{ revision: string }>, number] = await m.query(`DELETE FROM "replica_tombstones" WHERE "deleted_at" < $1 RETURNING "revision"`, [
        before,
      ]);
      if (!rows.length) return 0;
      const highest = rows.reduce((max, r) => Math.max(max, Number(r.revision)), 0);
      await m.query(`UPDATE "replication_state" SET "floor" = GREATEST("floor", $1) WHERE "id" = 1`, [highest]);
      return rows.length;
    });
  }
}

/** Change order: (revision, source, id). */
export function compareCursors(a: ChangeCursor, b: ChangeCursor): number {
  return a[0] - b[0] || a[1] - b[1] || (a[2] < b[2] ? -1 : a[2] > b[2] ? 1 : 0);
}
