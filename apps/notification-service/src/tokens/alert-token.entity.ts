import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/**
 * What the notifier knows of a service token (copied from the token service's events and
 * snapshots; never a secret or hash). `revision` is the token service's revision of the change
 * this row reflects: a change older than the row is ignored, so events and snapshots can arrive
 * in any order, twice, or at several replicas. Deleted tokens stay as tombstones for the same reason.
 */
@Entity('alert_tokens')
@Index('alert_tokens_account', ['accountId'])
@Index('alert_tokens_expires', ['expiresAt'])
export class AlertTokenEntity {
  @PrimaryColumn({ type: 'uuid', name: 'token_id' })
  tokenId!: string;

  @Column({ type: 'uuid', name: 'account_id' })
  accountId!: string;

  @Column({ type: 'text' })
  name!: string;

  @Column({ type: 'text', name: 'client_id' })
  clientId!: string;

  @Column({ type: 'text' })
  duration!: string;

  @Column({ type: 'timestamptz', name: 'expires_at', nullable: true })
  expiresAt!: Date | null;

  @Column({ type: 'boolean' })
  enabled!: boolean;

  @Column({ type: 'boolean' })
  deleted!: boolean;

  @Column({ type: 'bigint' })
  revision!: string;

  @Column({ type: 'timestamptz', name: 'updated_at' })
  updatedAt!: Date;
}

/** One row: the token-service revision the last complete snapshot was applied at. */
@Entity('alert_sync_state')
export class SyncStateEntity {
  @PrimaryColumn({ type: 'integer' })
  id!: number;

  @Column({ type: 'bigint' })
  revision!: string;

  @Column({ type: 'timestamptz', name: 'synced_at', nullable: true })
  syncedAt!: Date | null;
}
