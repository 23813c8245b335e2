import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Trigram indexes so the tokens list's substring search (name or client id, ILIKE '%…%') stays
 * fast with 100,000+ tokens. pg_trgm is a trusted extension (PostgreSQL 13+): the database owner
 * may create it without superuser rights.
 */
export class TokenSearchIndex1767600000000 implements MigrationInterface {
  name = 'TokenSearchIndex1767600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE EXTENSION IF NOT EXISTS pg_trgm`);
    await q.query(`CREATE INDEX "service_tokens_name_trgm" ON "service_tokens" USING gin ("name" gin_trgm_ops)`);
    await q.query(`CREATE INDEX "service_tokens_client_id_trgm" ON "service_tokens" USING gin ("client_id" gin_trgm_ops)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "public"."service_tokens_client_id_trgm"`);
    await q.query(`DROP INDEX "public"."service_tokens_name_trgm"`);
  }
}
