import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/**
 * A deleted replicated row (token, application or policy), kept so replicas pulling "changes since
 * revision R" learn of the deletion. Purged after GATEHOUSE_TOMBSTONE_RETENTION; the highest
 * purged revision is `replication_state.floor` (a replica behind it reloads).
 */
@Entity('replica_tombstones')
@Index('replica_tombstones_revision', ['revision', 'id'])
export class TombstoneEntity {
  @PrimaryColumn({ type: 'uuid' })
  id!: string;

  @Column({ type: 'text' })
  entity!: string;

  @Column({ type: 'bigint' })
  revision!: string;

  @Column({ type: 'timestamptz', name: 'deleted_at' })
  deletedAt!: Date;
}
