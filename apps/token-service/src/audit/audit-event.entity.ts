import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

@Entity('audit_events')
@Index('audit_events_account_time', ['accountId', 'occurredAt'])
@Index('audit_events_account_resource', ['accountId', 'resourceId'])
// Expression index on (account_id, metadata->>'tokenId'): created by a migration, invisible to TypeORM.
@Index('audit_events_account_token', { synchronize: false })
// Partial index of the gateway's decisions (access request log): also created by a migration.
@Index('audit_events_access_requests', { synchronize: false })
export class AuditEventEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ type: 'uuid', name: 'account_id' })
  accountId!: string;

  @Column({ type: 'text' })
  action!: string;

  @Column({ type: 'jsonb' })
  actor!: { type: 'admin' | 'system' | 'service_token'; id: string; ip?: string };

  @Column({ type: 'text', name: 'resource_type' })
  resourceType!: string;

  @Column({ type: 'text', name: 'resource_id', nullable: true })
  resourceId!: string | null;

  @Column({ type: 'text', name: 'resource_name', nullable: true })
  resourceName!: string | null;

  @Column({ type: 'timestamptz', name: 'occurred_at' })
  occurredAt!: Date;

  @Column({ type: 'jsonb', default: {} })
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- jsonb: with `unknown`, TypeORM's insert() types refuse the entry
  metadata!: Record<string, any>;
}
