import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** One row per account that saved its Access organization (accounts without one use the defaults). */
@Entity('access_organizations')
@Index('access_organizations_revision', ['revision', 'accountId'])
export class OrganizationEntity {
  @PrimaryColumn({ type: 'uuid', name: 'account_id' })
  accountId!: string;

  @Column({ type: 'text' })
  name!: string;

  @Column({ type: 'text', name: 'auth_domain', nullable: true })
  authDomain!: string | null;

  @Column({ type: 'text', name: 'session_duration' })
  sessionDuration!: string;

  @Column({ type: 'boolean', name: 'strict_service_token_auth', default: false })
  strictServiceTokenAuth!: boolean;

  @Column({ type: 'boolean', name: 'inactivity_enabled', default: false })
  inactivityEnabled!: boolean;

  @Column({ type: 'integer', name: 'inactivity_threshold_days', default: 90 })
  inactivityThresholdDays!: number;

  @Column({ type: 'text', name: 'inactivity_action', default: 'disable' })
  inactivityAction!: 'disable' | 'delete';

  @Column({ type: 'timestamptz', name: 'created_at' })
  createdAt!: Date;

  @Column({ type: 'timestamptz', name: 'updated_at' })
  updatedAt!: Date;

  /** Revision of the change that last wrote this row (set in that change's transaction; see docs/replication.md). */
  @Column({ type: 'bigint', default: 0, insert: false, update: false })
  revision?: string;
}
