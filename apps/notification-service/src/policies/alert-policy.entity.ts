import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

@Entity('alert_policies')
@Index('alert_policies_account', ['accountId', 'createdAt'])
export class AlertPolicyEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ type: 'uuid', name: 'account_id' })
  accountId!: string;

  @Column({ type: 'text' })
  name!: string;

  @Column({ type: 'text' })
  description!: string;

  @Column({ type: 'boolean' })
  enabled!: boolean;

  @Column({ type: 'text', name: 'alert_type' })
  alertType!: string;

  /** Lower-cased email recipients. */
  @Column({ type: 'text', array: true })
  emails!: string[];

  @Column({ type: 'uuid', name: 'webhook_ids', array: true })
  webhookIds!: string[];

  @Column({ type: 'timestamptz', name: 'created_at' })
  createdAt!: Date;

  @Column({ type: 'timestamptz', name: 'updated_at' })
  updatedAt!: Date;
}

@Entity('alert_webhooks')
@Index('alert_webhooks_account', ['accountId', 'createdAt'])
export class WebhookDestinationEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ type: 'uuid', name: 'account_id' })
  accountId!: string;

  @Column({ type: 'text' })
  name!: string;

  @Column({ type: 'text' })
  url!: string;

  /** The signing secret, AES-256-GCM encrypted (see SecretBox); null when bodies go unsigned. */
  @Column({ type: 'text', name: 'secret_ciphertext', nullable: true })
  secretCiphertext!: string | null;

  /** When a delivery to it last succeeded / last failed (null: never). */
  @Column({ type: 'timestamptz', name: 'last_success_at', nullable: true })
  lastSuccessAt!: Date | null;

  @Column({ type: 'timestamptz', name: 'last_failure_at', nullable: true })
  lastFailureAt!: Date | null;

  @Column({ type: 'timestamptz', name: 'created_at' })
  createdAt!: Date;

  @Column({ type: 'timestamptz', name: 'updated_at' })
  updatedAt!: Date;
}
