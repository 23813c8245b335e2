import { Injectable } from '@nestjs/common';
import type { ReplicatedEntity } from '@gatehouse/contracts';
import { DataSource } from 'typeorm';
import { managerOf, type Tx } from '../database/unit-of-work.js';
import { AuditEventEntity } from './audit-event.entity.js';
import type { AuditEntry, Ledger, Touched } from './ledger.js';

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
    // One round trip: replica_bump locks the touched rows, takes the next revision from the
    // sequence (no lock shared by all writers), stamps the rows and writes the tombstones
    // (migration 1768400000000; the feed serves only up to replica_safe_revision()).
    const live = (entity: ReplicatedEntity) => touched.filter((t) => t.entity === entity && !t.deleted).map((t) => t.id);
    const dead = touched.filter((t) => t.deleted);
    const rows: Array<{ revision: string }> = await managerOf(this.dataSource, tx).query(
      `SELECT replica_bump($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::uuid[], $6::text[]) AS "revision"`,
      [live('token'), live('app'), live('policy'), live('organization'), dead.map((t) => t.id), dead.map((t) => t.entity)],
    );
    return Number(rows[0]!.revision);
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
        await em
          .createQueryBuilder()
          .insert()
          .into(AuditEventEntity)
          .values(entries.slice(i, i + CHUNK))
          .orIgnore()
          .execute();
      }
    });
  }

  async list(accountId: string, filter: AuditFilter, page: number, perPage: number) {
    const qb = this.dataSource.manager.createQueryBuilder(AuditEventEntity, 'e').where('e.account_id = :accountId', { accountId });
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
