import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Indexes for the dashboard: a token's access decisions (token in metadata), and tokens by expiry. */
export class AuditTokenIndex1767500000000 implements MigrationInterface {
  name = 'AuditTokenIndex1767500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX "audit_events_account_token" ON "audit_events" ("account_id", ("metadata"->>'tokenId'))`);
    await q.query(`CREATE INDEX "service_tokens_account_expires" ON "service_tokens" ("account_id", "expires_at")`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "public"."service_tokens_account_expires"`);
    await q.query(`DROP INDEX "public"."audit_events_account_token"`);
  }
}
