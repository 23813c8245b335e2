import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Finds a token's access decisions (recorded against the app, token in metadata) quickly. */
export class AuditTokenIndex1767500000000 implements MigrationInterface {
  name = 'AuditTokenIndex1767500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX "audit_events_account_token" ON "audit_events" ("account_id", ("metadata"->>'tokenId'))`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "public"."audit_events_account_token"`);
  }
}
