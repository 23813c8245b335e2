import { Column, Entity, Index, PrimaryGeneratedColumn, Unique } from 'typeorm';

/**
 * The outbox and the history in one table: a row is written (status `pending`) before anything
 * is sent. The idempotency key — (policy, mechanism, target, token, expires_at) — is UNIQUE, so
 * a delivery is materialised once however many schedulers and replicas try.
 *
 * pending → sending (claimed with a lease) → sent | pending (retry with backoff) | failed;
 * pending/expired-lease rows whose token or policy no longer calls for them → cancelled.
 */
@Entity('alert_deliveries')
@Unique('alert_deliveries_idempotency_key', ['policyId', 'mechanism', 'target', 'tokenId', 'expiresAt'])
@Index('alert_deliveries_due', ['status', 'nextAttemptAt'])
@Index('alert_deliveries_account_created', ['accountId', 'createdAt'])
@Index('alert_deliveries_token', ['tokenId'])
export class DeliveryEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ type: 'uuid', name: 'account_id' })
  accountId!: string;

  @Column({ type: 'text', name: 'alert_type' })
  alertType!: string;

  @Column({ type: 'uuid', name: 'policy_id' })
  policyId!: string;

  @Column({ type: 'text', name: 'policy_name' })
  policyName!: string;

  /** `email` or `webhook`. */
  @Column({ type: 'text' })
  mechanism!: string;

  /** The email address, or the webhook destination id. */
  @Column({ type: 'text' })
  target!: string;

  @Column({ type: 'uuid', name: 'token_id' })
  tokenId!: string;

  @Column({ type: 'text', name: 'token_name' })
  tokenName!: string;

  @Column({ type: 'text', name: 'client_id' })
  clientId!: string;

  @Column({ type: 'timestamptz', name: 'expires_at' })
  expiresAt!: Date;

  @Column({ type: 'timestamptz', name: 'due_at' })
  dueAt!: Date;

  @Column({ type: 'text' })
  status!: string;

  @Column({ type: 'integer' })
  attempts!: number;

  @Column({ type: 'timestamptz', name: 'next_attempt_at' })
  nextAttemptAt!: Date;

  @Column({ type: 'timestamptz', name: 'lease_until', nullable: true })
  leaseUntil!: Date | null;

  /** Why the last attempt failed or why the delivery was cancelled; never a secret. */
  @Column({ type: 'text', name: 'last_error', nullable: true })
  lastError!: string | null;

  @Column({ type: 'timestamptz', name: 'sent_at', nullable: true })
  sentAt!: Date | null;

  @Column({ type: 'timestamptz', name: 'created_at' })
  createdAt!: Date;

  @Column({ type: 'timestamptz', name: 'updated_at' })
  updatedAt!: Date;
}
