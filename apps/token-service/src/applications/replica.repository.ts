import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { ChangeCursor, ChangeRecord, ReplicatedEntity } from '@gatehouse/contracts';
import type { PoolClient } from 'pg';
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

/** One replica.v3 page as PostgreSQL wrote it: the token rows' bytes, the other records parsed. */
export interface CompactPageRows {
  head: number;
  floor: number;
  /** The page's token rows (libs/contracts token-rows.ts), in change order. */
  tokens: Buffer;
  records: ChangeRecord[];
  /** Position of the page's last record (null: an empty page). */
  last: ChangeCursor | null;
  /** The page stopped at its `limit` rows: more may follow `last`. */
  more: boolean;
  /** Bytes of JSON of `records` (what the reply carries besides the rows). */
  recordBytes: number;
}

export interface ChangeStore {
  head(): Promise<number>;
  read(after: ChangeCursor, limit: number, entities: ReplicatedEntity[]): Promise<PageRows>;
  readCompact(after: ChangeCursor, limit: number, maxBytes: number, entities: ReplicatedEntity[]): Promise<CompactPageRows>;
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
 * A text as a replica.v3 row field: its UTF-8 byte length (u32), then the bytes. On a UTF8
 * database the text's own length is that length (converting twice per field was a tenth of the row).
 */
const field = (column: string, utf8Server: boolean) =>
  `int4send(octet_length(${utf8Server ? column : `convert_to(${column}, 'UTF8')`})) || convert_to(${column}, 'UTF8')`;
/** A timestamptz as PostgreSQL sends it (i64 microseconds since 2000), zeros when NULL (the row's flags say which). */
const date = (column: string) => `coalesce(timestamptz_send(${column}), '\\x0000000000000000'::bytea)`;

/**
 * A token as a replica.v3 row (libs/contracts token-rows.ts): binary, from PostgreSQL's own send
 * functions. The JSON text rows this replaced spent most of their time formatting numbers and
 * dates and escaping strings, here and again in the token service and the gateway.
 */
const tokenRow = (utf8: boolean) => `set_byte('\\x00'::bytea, 0, CASE WHEN e.enabled THEN 1 ELSE 0 END | CASE WHEN e.expires_at IS NULL THEN 0 ELSE 2 END
    | CASE WHEN e.previous_secret_hash IS NULL THEN 0 ELSE 4 END | CASE WHEN e.previous_secret_expires_at IS NULL THEN 0 ELSE 8 END)
  || int8send(e.revision) || uuid_send(e.id) || uuid_send(e.account_id) || ${date('e.expires_at')} || ${date('e.previous_secret_expires_at')}
  || int4send(e.client_secret_version) || ${field('e.name', utf8)} || ${field('e.client_id', utf8)} || ${field('e.duration', utf8)}
  || ${field('e.secret_hash', utf8)} || ${field("coalesce(e.previous_secret_hash, '')", utf8)}`;

/**
 * Reads one page of the replicated tables in revision order up to the safe revision (the page's
 * head), in one statement after it: each source is an index range scan on (revision, id).
 */
@Injectable()
export class ReplicaRepository implements ChangeStore {
  /** Whether the database's encoding is UTF8 (asked once). */
  private utf8Server?: Promise<boolean>;

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
    const sources = sourcesOf(entities);
    const positions = positionsAfter(sources, k);
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

  /**
   * The safe revision, then a page statement after it, prepared once per connection (named by its
   * text's hash: a cold start runs the same few texts a thousand times), on one connection, in a
   * transaction whose statements run with a generic plan. PostgreSQL's default kept choosing a
   * custom plan for the page, so it planned the five-source statement again for each of a cold
   * start's thousand pages (1.2 ms of a 5 ms page in psql). `SET LOCAL` ends with the transaction,
   * so no other statement on the pooled connection is affected. Each statement still takes its own
   * snapshot (READ COMMITTED), so the page sees every revision up to the safe one.
   */
  private async afterSafeRevision<T>(text: string, values: (safe: number) => unknown[]): Promise<{ safe: number; rows: T[] }> {
    const runner = this.dataSource.createQueryRunner();
    try {
      const client = (await runner.connect()) as PoolClient;
      await client.query('BEGIN');
      try {
        const head = await client.query<{ head: string }>(`SELECT set_config('plan_cache_mode', 'force_generic_plan', true), replica_safe_revision() AS head`);
        const safe = Number(head.rows[0]!.head);
        const rows = (await client.query<T & object>({ name: statementName(text), text, values: values(safe) })).rows;
        await client.query('COMMIT');
        return { safe, rows };
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
    } finally {
      await runner.release();
    }
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

  /**
   * A replica.v3 page: the first `limit` records after the cursor in one statement after the safe
   * revision (as `read`), token rows aggregated into one text (base64: the driver's hex for bytea
   * is half again as long) and the other records into one JSON array, with the bytes they take in
   * the reply (the rows travel as raw bytes after the reply's JSON: libs/nest-kit binary-reply.ts).
   * Pages past `maxBytes` are read again with fewer records:
   * a cut by a running sum inside the statement (window, sort, another pass) cost half of it, and
   * the caller sizes `limit` so that a page of typical tokens fits.
   */
  async readCompact([revision, k, id]: ChangeCursor, limit: number, maxBytes: number, entities: ReplicatedEntity[]): Promise<CompactPageRows> {
    for (;;) {
      const page = await this.readCompactOnce([revision, k, id], limit, entities);
      if (page.bytes <= maxBytes || page.read <= 1) {
        return {
          head: page.head,
          floor: page.floor,
          tokens: page.tokens,
          records: page.records,
          last: page.last,
          more: page.read === limit,
          recordBytes: page.bytes - page.tokens.length,
        };
      }
      limit = Math.max(1, Math.min(page.read - 1, Math.floor((page.read * maxBytes * 0.9) / page.bytes)));
    }
  }

  private async readCompactOnce([revision, k, id]: ChangeCursor, limit: number, entities: ReplicatedEntity[]) {
    const sources = sourcesOf(entities);
    // Token rows are written by the positions' own scan (in revision order, as the heap mostly is):
    // joining a million tokens back by id cost as much as writing them. The merge reads each
    // source lazily, so only rows that make the page are written.
    this.utf8Server ??= this.dataSource.query(`SELECT current_setting('server_encoding') = 'UTF8' AS utf8`).then(
      (rows: Array<{ utf8: boolean }>) => rows[0]!.utf8,
      (error: unknown) => {
        this.utf8Server = undefined; // asked again with the next page
        throw error;
      },
    );
    const positions = positionsAfter(sources, k, tokenRow(await this.utf8Server));
    const others = sources
      .filter((s) => s.source > 0)
      .map(
        ({ table, key, record, source }) =>
          `(SELECT c.source, c.revision, c.id, ${record} AS j FROM c JOIN "${table}" e ON e.${key} = c.id WHERE c.source = ${source})`,
      );
    // `t.bytes` is NULL on a page without tokens: its other records must still count. The rows are
    // base64 (node-pg reads every result as text, where a bytea is hex, twice the bytes), with the
    // line breaks PostgreSQL puts every 76 characters: Buffer.from skips them (taking them out with
    // replace() cost PostgreSQL 0.27 ms of a page's ~1 ms of encoding). `last`: the page's last position, found
    // among the rows of its highest revision (sorting the whole page for it was a tenth of the
    // statement).
    const { safe, rows } = await this.afterSafeRevision<{
      floor: string;
      read: number;
      bytes: string | null;
      tokens: string | null;
      records: ChangeRecord[] | null;
      last: ChangeCursor | null;
    }>(
      `WITH c AS MATERIALIZED (SELECT * FROM (${positions.join(' UNION ALL ')}) u ORDER BY revision, source, id LIMIT $3),
            o AS MATERIALIZED (SELECT o.*, octet_length(o.j::text) + 1 AS bytes FROM (${others.join(' UNION ALL ')}) o)
       SELECT st.floor, t.read, coalesce(t.bytes, 0) + coalesce((SELECT sum(bytes) FROM o), 0) AS bytes, t.tokens,
              (SELECT json_agg(j ORDER BY revision, source, id) FROM o) AS records,
              (SELECT json_build_array(c.revision, c.source, c.id) FROM c WHERE c.revision = (SELECT max(revision) FROM c)
                ORDER BY c.source DESC, c.id DESC LIMIT 1) AS last
         FROM replication_state st,
              (SELECT count(*)::int AS read, sum(octet_length(c.j)) FILTER (WHERE c.source = 0) AS bytes,
                      encode(string_agg(c.j, ''::bytea) FILTER (WHERE c.source = 0), 'base64') AS tokens FROM c) t
        WHERE st.id = 1`,
      (safe) => [revision, id, limit, entities, safe],
    );
    const r = rows[0]!;
    const last = r.last ? ([Number(r.last[0]), Number(r.last[1]), String(r.last[2])] as ChangeCursor) : null;
    return {
      head: safe,
      floor: Number(r.floor),
      read: r.read,
      bytes: Number(r.bytes ?? 0),
      // Line breaks and all: base64 decoding skips them.
      tokens: Buffer.from(r.tokens ?? '', 'base64'),
      records: r.records ?? [],
      last,
    };
  }
}

type Source = (typeof SOURCES)[number] & { source: number };

/** The sources a request asks for (tombstones always; they carry their entity), with their index in the change order. */
function sourcesOf(entities: ReplicatedEntity[]): Source[] {
  return SOURCES.map((s, source) => ({ ...s, source })).filter((s) => !s.entity || entities.includes(s.entity));
}

/**
 * Each source's first `limit` positions after the cursor (index-only range scans). Position order
 * is (revision, source, id): sources before the cursor's need a higher revision, the cursor's own
 * continues after its id, later sources may share the cursor's revision. $1 revision, $2 id,
 * $3 limit, $4 entities, $5 the safe revision.
 */
function positionsAfter(sources: Source[], k: number, tokenRow?: string): string[] {
  return sources.map(({ table, key, entity, source }) => {
    const after = source < k ? 'e.revision > $1' : source === k ? `(e.revision, e.${key}) > ($1, $2::uuid)` : 'e.revision >= $1';
    const only = entity ? '' : ' AND e.entity = ANY($4::text[])';
    // `tokenRow`: a column `j` with each token's row (others get NULL, written after the merge).
    const j = tokenRow === undefined ? '' : `, ${source === 0 ? tokenRow : 'NULL::bytea'} AS j`;
    return `(SELECT ${source} AS source, e.revision, e.${key} AS id${j} FROM "${table}" e WHERE ${after} AND e.revision <= $5${only} ORDER BY e.revision, e.${key} LIMIT $3)`;
  });
}

/** A prepared statement's name: its text's hash. */
function statementName(text: string): string {
  return `gatehouse_${createHash('sha256').update(text).digest('hex').slice(0, 32)}`;
}

/** Change order: (revision, source, id). */
export function compareCursors(a: ChangeCursor, b: ChangeCursor): number {
  return a[0] - b[0] || a[1] - b[1] || (a[2] < b[2] ? -1 : a[2] > b[2] ? 1 : 0);
}
