import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { managerOf, type Tx } from '../database/unit-of-work.js';
import { ReplicationStateEntity } from '../database/revision.entity.js';
import { AuditEventEntity } from './audit-event.entity.js';
import type { AuditEntry, Ledger, Touched } from './ledger.js';

/** Each replicated entity's table and key column (an organization is keyed by its account). */
const TABLE_OF = {
  token: { table: 'service_tokens', key: 'id' },
  app: { table: 'access_apps', key: 'id' },
  policy: { table: 'access_policies', key: 'id' },
  organization: { table: 'access_organizations', key: 'account_id' },
} as const;

/** Rows per INSERT: 9 columns × 1000 rows stays well under PostgreSQL's 65,535 bind parameters. */
const CHUNK = 1000;

export interface AuditFilter {
  resourceId?: string;
  tokenId?: string;
  action?: string;
  since?: Date;
  before?: Date;
}

@Injectable()
export class AuditRepository implements Ledger {
  constructor(private readonly dataSource: DataSource) {}

  async bumpRevision(tx: Tx, touched: Touched[]): Promise<number> {
    const m = managerOf(this.dataSource, tx);
    // For UPDATE … RETURNING, TypeORM's postgres driver answers [rows, affectedCount].
    const [rows]: [Array<{ revision: string }>, number] = await m.query(
      `UPDATE "replication_state" SET "revision" = "revision" + 1 WHERE "id" = 1 RETURNING "revision"`,
    );
    const revision = rows[0]!.revision;
    for (const entity of Object.keys(TABLE_OF) as Array<keyof typeof TABLE_OF>) {
      const live = touched.filter((t) => t.entity === entity && !t.deleted).map((t) => t.id);
      const { table, key } = TABLE_OF[entity];
      if (live.length) await m.query(`UPDATE "${table}" SET "revision" = $1 WHERE "${key}" = ANY($2::uuid[])`, [revision, live]);
    }
    const dead = touched.filter((t) => t.deleted);
    if (dead.length) {
      await m.query(
        `INSERT INTO "replica_tombstones" ("id", "entity", "revision", "deleted_at")
         SELECT u.id, u.entity, $3, now() FROM unnest($1::uuid[], $2::text[]) AS u(id, entity)
         ON CONFLICT ("id") DO UPDATE SET "revision" = EXCLUDED."revision", "deleted_at" = EXCLUDED."deleted_at"`,
        [dead.map((t) => t.id), dead.map((t) => t.entity), revision],
      );
    }
    return Number(revision);
  }

  async currentRevision(tx?: Tx): Promise<number> {
    const row = await managerOf(this.dataSource, tx).findOneByOrFail(ReplicationStateEntity, { id: 1 });
    return Number(row.revision);
  }

  async append(tx: Tx | undefined, entry: AuditEntry): Promise<void> {
    await managerOf(this.dataSource, tx).insert(AuditEventEntity, entry);
  }

  /**
   * Appends rows that carry their own ids; a row whose id is already there is skipped (ON CONFLICT
   * DO NOTHING), so appending the same batch again writes nothing twice. One transaction.
   */
  async appendOnce(entries: Array<AuditEntry & { id: string }>): Promise<void> {
    if (!entries.length) return;
    await this.dataSource.transaction(async (em) => {
      for (let i = 0; i < entries.length; i += CHUNK) {
        await em.createQueryBuilder().insert().into(AuditEventEntity).values(entries.slice(i, i + CHUNK)).orIgnore().execute();
      }
    });
  }

  async list(accountId: string, filter: AuditFilter, page: number, perPage: number) {
    const qb = this.dataSource.manager
      .createQueryBuilder(AuditEventEntity, 'e')
      .where('e.account_id = :accountId', { accountId });
    if (filter.resourceId) qb.andWhere('e.resource_id = :resourceId', { resourceId: filter.resourceId });
    if (filter.tokenId) {
      qb.andWhere(`(e.resource_id = :tokenId OR e.metadata->>'tokenId' = :tokenId)`, { tokenId: filter.tokenId });
    }
    if (filter.action) qb.andWhere('e.action = :action', { action: filter.action });
    if (filter.since) qb.andWhere('e.occurred_at >= :since', { since: filter.since });
    if (filter.before) qb.andWhere('e.occurred_at < :before', { before: filter.before });
    const [rows, total] = await qb
      .orderBy('e.occurred_at', 'DESC')
      .addOrderBy('e.id', 'DESC')
      .skip((page - 1) * perPage)
      .take(perPage)
      .getManyAndCount();
    return { rows, total };
  }
}
