import type { PolicyRule } from '@gatehouse/contracts';
import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';
import { ApplicationEntity } from './application.entity.js';

/** A reusable (account-level) Service Auth policy; applications link it through `access_app_policy_links`. */
@Entity('access_reusable_policies')
@Index('access_reusable_policies_account_created', ['accountId', 'createdAt'])
export class ReusablePolicyEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ type: 'uuid', name: 'account_id' })
  accountId!: string;

  @Column({ type: 'text' })
  name!: string;

  @Column({ type: 'text', default: 'non_identity' })
  decision!: 'non_identity';

  /** Rules in the contract's camelCase form; a rule naming a deleted token stays (it matches nothing). */
  @Column({ type: 'jsonb', name: 'include_rules' })
  include!: PolicyRule[];

  @Column({ type: 'jsonb', name: 'require_rules' })
  require!: PolicyRule[];

  @Column({ type: 'jsonb', name: 'exclude_rules' })
  exclude!: PolicyRule[];

  @Column({ type: 'text', name: 'session_duration', nullable: true })
  sessionDuration!: string | null;

  @Column({ type: 'timestamptz', name: 'created_at' })
  createdAt!: Date;

  @Column({ type: 'timestamptz', name: 'updated_at' })
  updatedAt!: Date;
}

/**
 * An application's link to a reusable policy, with its precedence in that application. Deleting
 * the app deletes its links; a policy still linked cannot be deleted (RESTRICT), so a link never
 * points at nothing.
 */
@Entity('access_app_policy_links')
@Index('access_app_policy_links_policy', ['policyId'])
export class AppPolicyLinkEntity {
  @PrimaryColumn({ type: 'uuid', name: 'app_id', primaryKeyConstraintName: 'access_app_policy_links_pk' })
  appId!: string;

  @PrimaryColumn({ type: 'uuid', name: 'policy_id', primaryKeyConstraintName: 'access_app_policy_links_pk' })
  policyId!: string;

  @Column({ type: 'integer' })
  precedence!: number;

  @ManyToOne(() => ApplicationEntity, { onDelete: 'CASCADE', nullable: false })
  @JoinColumn({ name: 'app_id', foreignKeyConstraintName: 'access_app_policy_links_app_fk' })
  app?: ApplicationEntity;

  @ManyToOne(() => ReusablePolicyEntity, { onDelete: 'RESTRICT', nullable: false })
  @JoinColumn({ name: 'policy_id', foreignKeyConstraintName: 'access_app_policy_links_policy_fk' })
  policy?: ReusablePolicyEntity;
}
