import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Deep pages of the tokens list without skipping hundreds of thousands of index entries: each
 * account's number of tokens per UTC day of `created_at`, kept exact by statement triggers in the
 * same transaction as the insert or delete (COPY included), like `service_token_counts` (and
 * spread over 16 shards per day the same way, so concurrent creates of one day do not queue behind
 * one row). The list (newest first) sums the days newer than the one holding its offset, then
 * skips at most that day's tokens on the (account_id, created_at, id) index.
 * A token's `created_at` and account never change (no UPDATE trigger).
 */
export class TokenDayCounts1768500000000 implements MigrationInterface {
  name = 'TokenDayCounts1768500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE TABLE "service_token_day_counts" ("account_id" uuid NOT NULL, "day" TIMESTAMP WITH TIME ZONE NOT NULL, "shard" smallint NOT NULL, "count" bigint NOT NULL, CONSTRAINT "service_token_day_counts_pk" PRIMARY KEY ("account_id", "day", "shard"))`,
    );
    await q.query(`CREATE FUNCTION "service_token_day_counts_apply"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO "service_token_day_counts" ("account_id", "day", "shard", "count")
          SELECT "account_id", date_trunc('day', "created_at", 'UTC'), (txid_current() % 16)::smallint,
                 CASE WHEN TG_OP = 'INSERT' THEN count(*) ELSE -count(*) END
            FROM "counted_rows" GROUP BY 1, 2
          ON CONFLICT ("account_id", "day", "shard") DO UPDATE SET "count" = "service_token_day_counts"."count" + EXCLUDED."count";
        RETURN NULL;
      END $$`);
    await q.query(
      `CREATE TRIGGER "service_token_day_counts_insert" AFTER INSERT ON "service_tokens" REFERENCING NEW TABLE AS "counted_rows" FOR EACH STATEMENT EXECUTE FUNCTION "service_token_day_counts_apply"()`,
    );
    await q.query(
      `CREATE TRIGGER "service_token_day_counts_delete" AFTER DELETE ON "service_tokens" REFERENCING OLD TABLE AS "counted_rows" FOR EACH STATEMENT EXECUTE FUNCTION "service_token_day_counts_apply"()`,
    );
    // Tokens that exist already (the table is locked by the triggers' creation until commit).
    await q.query(`INSERT INTO "service_token_day_counts" ("account_id", "day", "shard", "count")
      SELECT "account_id", date_trunc('day', "created_at", 'UTC'), 0, count(*) FROM "service_tokens" GROUP BY 1, 2`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER "service_token_day_counts_delete" ON "service_tokens"`);
    await q.query(`DROP TRIGGER "service_token_day_counts_insert" ON "service_tokens"`);
    await q.query(`DROP FUNCTION "service_token_day_counts_apply"()`);
    await q.query(`DROP TABLE "service_token_day_counts"`);
  }
}
