import type { PolicyRule } from '@gatehouse/contracts';
import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import { ApplicationEntity } from './application.entity.js';

@Entity('access_policies')
@Index('access_policies_app_precedence', ['appId', 'precedence'])
@Index('access_policies_account', ['accountId'])
@Index('access_policies_revision', ['revision', 'id'])
export class PolicyEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ type: 'uuid', name: 'account_id' })
  accountId!: string;

  @Column({ type: 'uuid', name: 'app_id' })
  appId!: string;

  /** The database keeps policies from outliving their app even if a delete path forgets them. */
  @ManyToOne(() => ApplicationEntity, { onDelete: 'CASCADE', nullable: false })
  @JoinColumn({ name: 'app_id', foreignKeyConstraintName: 'access_policies_app_fk' })
  app?: ApplicationEntity;

  @Column({ type: 'text' })
  name!: string;

  @Column({ type: 'text', default: 'non_identity' })
  decision!: 'non_identity';

  @Column({ type: 'integer' })
  precedence!: number;

  /** Rules in the contract's camelCase form; a rule naming a deleted token stays (it matches nothing). */
  @Column({ type: 'jsonb', name: 'include_rules' })
  include!: PolicyRule[];

  @Column({ type: 'jsonb', name: 'require_rules' })
  require!: PolicyRule[];

  @Column({ type: 'jsonb', name: 'exclude_rules' })
  exclude!: PolicyRule[];

  @Column({ type: 'timestamptz', name: 'created_at' })
  createdAt!: Date;

  @Column({ type: 'timestamptz', name: 'updated_at' })
  updatedAt!: Date;

  /** Revision of the change that last wrote this row (set in that change's transaction; see docs/replication.md). */
  @Column({ type: 'bigint', default: 0 })
  revision!: string;
}
