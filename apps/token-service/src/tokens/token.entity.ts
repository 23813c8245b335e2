import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

@Entity('service_tokens')
@Index('service_tokens_account_name', ['accountId', 'name'])
@Index('service_tokens_account_created_id', ['accountId', 'createdAt', 'id'])
@Index('service_tokens_account_expires', ['accountId', 'expiresAt'])
// Trigram (GIN) indexes for substring search: created by a migration, invisible to TypeORM.
@Index('service_tokens_name_trgm', { synchronize: false })
@Index('service_tokens_client_id_trgm', { synchronize: false })
@Index('service_tokens_revision', ['revision', 'id'])
export class ServiceTokenEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ type: 'uuid', name: 'account_id' })
  accountId!: string;

  @Column({ type: 'text' })
  name!: string;

  @Index('service_tokens_client_id', { unique: true })
  @Column({ type: 'text', name: 'client_id' })
  clientId!: string;

  @Column({ type: 'text' })
  duration!: string;

  /** HMAC-SHA256 of the current secret (see hashClientSecret); never the secret. */
  @Column({ type: 'text', name: 'secret_hash' })
  secretHash!: string;

  @Column({ type: 'integer', name: 'client_secret_version', default: 1 })
  clientSecretVersion!: number;

  @Column({ type: 'text', name: 'previous_secret_hash', nullable: true })
  previousSecretHash!: string | null;

  @Column({ type: 'timestamptz', name: 'previous_secret_expires_at', nullable: true })
  previousSecretExpiresAt!: Date | null;

  @Column({ type: 'boolean', default: true })
  enabled!: boolean;

  @Column({ type: 'timestamptz', name: 'expires_at', nullable: true })
  expiresAt!: Date | null;

  @Column({ type: 'timestamptz', name: 'last_seen_at', nullable: true })
  lastSeenAt!: Date | null;

  @Column({ type: 'timestamptz', name: 'created_at' })
  createdAt!: Date;

  @Column({ type: 'timestamptz', name: 'updated_at' })
  updatedAt!: Date;

  /** Revision of the change that last wrote this row (set in that change's transaction; see docs/replication.md). */
  @Column({ type: 'bigint', default: 0 })
  revision!: string;
}
