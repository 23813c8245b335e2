import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The tokens list's order is (created_at DESC, id DESC). An index on (account_id, created_at, id)
 * serves it without a sort, and holds everything the page's id lookup needs, so a deep page is
 * skipped with an index-only scan instead of reading a million rows. Replaces the
 * (account_id, created_at) index, which it covers.
 */
export class TokenListOrderIndex1768000000000 implements MigrationInterface {
  name = 'TokenListOrderIndex1768000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX "service_tokens_account_created_id" ON "service_tokens" ("account_id", "created_at", "id")`);
    await q.query(`DROP INDEX "public"."service_tokens_account_created"`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX "service_tokens_account_created" ON "service_tokens" ("account_id", "created_at")`);
    await q.query(`DROP INDEX "public"."service_tokens_account_created_id"`);
  }
}
