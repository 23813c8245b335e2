import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * One row of replication state. Revisions themselves come from the `replica_revision_seq` sequence
 * (`replica_bump`, `replica_safe_revision`: migration 1768400000000, docs/replication.md).
 */
@Entity('replication_state')
export class ReplicationStateEntity {
  @PrimaryColumn({ type: 'integer' })
  id!: number;

  /** Tombstones at or below this revision were purged: a replica behind it must reload. */
  @Column({ type: 'bigint', default: 0 })
  floor!: string;
}
