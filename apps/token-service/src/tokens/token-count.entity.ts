import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * An account's token count, spread over up to 16 rows (shards); the sum is exact. Written only by
 * the database's triggers on `service_tokens` (migration TokenCounts1768000100000), read by the list.
 */
@Entity('service_token_counts')
export class ServiceTokenCountEntity {
  @PrimaryColumn({ type: 'uuid', name: 'account_id', primaryKeyConstraintName: 'service_token_counts_pk' })
  accountId!: string;

  @PrimaryColumn({ type: 'smallint', primaryKeyConstraintName: 'service_token_counts_pk' })
  shard!: number;

  @Column({ type: 'bigint' })
  count!: string;
}
