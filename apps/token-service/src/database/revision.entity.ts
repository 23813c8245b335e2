import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * One row: the revision of everything replicas copy (tokens, applications, policies). Each change
 * bumps it inside its own transaction, so a snapshot and its revision are always consistent and
 * replicas can tell from an event's revision whether they missed one.
 */
@Entity('replication_state')
export class ReplicationStateEntity {
  @PrimaryColumn({ type: 'integer' })
  id!: number;

  @Column({ type: 'bigint', default: 0 })
  revision!: string;

  /** Tombstones at or below this revision were purged: a replica behind it must reload. */
  @Column({ type: 'bigint', default: 0 })
  floor!: string;
}
