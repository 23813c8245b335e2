import { ChangeSources, type ChangeCursor, type ChangeRecord, type ReplicatedEntity } from '@gatehouse/contracts';
import type { DataSource, ObjectLiteral, SelectQueryBuilder } from 'typeorm';
import { ReplicationStateEntity } from '../database/revision.entity.js';
import { TombstoneEntity } from '../database/tombstone.entity.js';
import { managerOf, type Tx } from '../database/unit-of-work.js';
import { ServiceTokenEntity } from '../tokens/token.entity.js';
import { toVerifierToken } from '../tokens/token.record.js';
import { ApplicationEntity } from './application.entity.js';
import { toApplication, toPolicy } from './application.record.js';
import { PolicyEntity } from './policy.entity.js';

/** One record with its position in the change order. */
export interface Positioned {
  at: ChangeCursor;
  record: ChangeRecord;
}

export interface ChangeStore {
  state(tx: Tx): Promise<{ head: number; floor: number }>;
  /** Up to `limit` records of one source after `after`, in (revision, id) order. */
  after(tx: Tx, source: number, after: ChangeCursor, limit: number, entities: ReplicatedEntity[]): Promise<Positioned[]>;
}

/** Reads the replicated tables in revision order (each has a (revision, id) index). */
export class ReplicaRepository implements ChangeStore {
  constructor(private readonly dataSource: DataSource) {}

  async state(tx: Tx): Promise<{ head: number; floor: number }> {
    const row = await managerOf(this.dataSource, tx).findOneByOrFail(ReplicationStateEntity, { id: 1 });
    return { head: Number(row.revision), floor: Number(row.floor) };
  }

  async after(tx: Tx, source: number, [revision, k, id]: ChangeCursor, limit: number, entities: ReplicatedEntity[]): Promise<Positioned[]> {
    const m = managerOf(this.dataSource, tx);
    // Position order is (revision, source, id): sources before the cursor's need a higher revision,
    // the cursor's own continues after its id, later sources may share the cursor's revision.
    const where = <T extends ObjectLiteral>(qb: SelectQueryBuilder<T>) => {
      if (source < k) qb.where('e.revision > :revision', { revision });
      else if (source === k) qb.where('(e.revision, e.id) > (:revision, :id)', { revision, id });
      else qb.where('e.revision >= :revision', { revision });
      return qb.orderBy('e.revision', 'ASC').addOrderBy('e.id', 'ASC').limit(limit);
    };
    const at = (rev: string, rowId: string): ChangeCursor => [Number(rev), source, rowId];
    switch (ChangeSources[source]) {
      case 'token':
        if (!entities.includes('token')) return [];
        return (await where(m.createQueryBuilder(ServiceTokenEntity, 'e')).getMany()).map((e) => ({
          at: at(e.revision, e.id),
          record: { type: 'token', revision: Number(e.revision), token: toVerifierToken(e) },
        }));
      case 'app':
        if (!entities.includes('app')) return [];
        return (await where(m.createQueryBuilder(ApplicationEntity, 'e')).getMany()).map((e) => ({
          at: at(e.revision, e.id),
          record: { type: 'app', revision: Number(e.revision), app: toApplication(e) },
        }));
      case 'policy':
        if (!entities.includes('policy')) return [];
        return (await where(m.createQueryBuilder(PolicyEntity, 'e')).getMany()).map((e) => ({
          at: at(e.revision, e.id),
          record: { type: 'policy', revision: Number(e.revision), policy: toPolicy(e) },
        }));
      default: {
        const qb = where(m.createQueryBuilder(TombstoneEntity, 'e')).andWhere('e.entity IN (:...entities)', { entities });
        return (await qb.getMany()).map((e) => ({
          at: at(e.revision, e.id),
          record: { type: 'tombstone', revision: Number(e.revision), entity: e.entity as ReplicatedEntity, id: e.id },
        }));
      }
    }
  }

  /** Drops tombstones older than `before` and raises the floor to the highest dropped revision. */
  async purgeTombstones(before: Date): Promise<number> {
    return this.dataSource.transaction(async (m) => {
      const [rows]: [Array<{ revision: string }>, number] = await m.query(`DELETE FROM "replica_tombstones" WHERE "deleted_at" < $1 RETURNING "revision"`, [before]);
      if (!rows.length) return 0;
      const highest = rows.reduce((max, r) => Math.max(max, Number(r.revision)), 0);
      await m.query(`UPDATE "replication_state" SET "floor" = GREATEST("floor", $1) WHERE "id" = 1`, [highest]);
      return rows.length;
    });
  }
}
