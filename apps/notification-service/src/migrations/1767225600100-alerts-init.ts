import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Alert policies, webhook destinations, the token replica, and the delivery outbox/history. */
export class AlertsInit1767225600100 implements MigrationInterface {
  name = 'AlertsInit1767225600100';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE TABLE "alert_deliveries" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "account_id" uuid NOT NULL, "alert_type" text NOT NULL, "policy_id" uuid NOT NULL, "policy_name" text NOT NULL, "mechanism" text NOT NULL, "target" text NOT NULL, "token_id" uuid NOT NULL, "token_name" text NOT NULL, "client_id" text NOT NULL, "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL, "due_at" TIMESTAMP WITH TIME ZONE NOT NULL, "status" text NOT NULL, "attempts" integer NOT NULL, "next_attempt_at" TIMESTAMP WITH TIME ZONE NOT NULL, "lease_until" TIMESTAMP WITH TIME ZONE, "last_error" text, "sent_at" TIMESTAMP WITH TIME ZONE, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL, "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "alert_deliveries_idempotency_key" UNIQUE ("policy_id", "mechanism", "target", "token_id", "expires_at"), CONSTRAINT "PK_b3d51c95891264fb62df41582ad" PRIMARY KEY ("id"))`,
    );
    await q.query(`CREATE INDEX "alert_deliveries_token" ON "alert_deliveries"("token_id")`);
    await q.query(`CREATE INDEX "alert_deliveries_account_created" ON "alert_deliveries"("account_id", "created_at")`);
    await q.query(`CREATE INDEX "alert_deliveries_due" ON "alert_deliveries"("status", "next_attempt_at")`);
    await q.query(
      `CREATE TABLE "alert_policies" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "account_id" uuid NOT NULL, "name" text NOT NULL, "description" text NOT NULL, "enabled" boolean NOT NULL, "alert_type" text NOT NULL, "emails" text array NOT NULL, "webhook_ids" uuid array NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL, "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "PK_39a008fa86c6375586c3ee7ee57" PRIMARY KEY ("id"))`,
    );
    await q.query(`CREATE INDEX "alert_policies_account" ON "alert_policies"("account_id", "created_at")`);
    await q.query(
      `CREATE TABLE "alert_webhooks" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "account_id" uuid NOT NULL, "name" text NOT NULL, "url" text NOT NULL, "secret_ciphertext" text, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL, "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "PK_3400053a89bccdf6290a7e6dc83" PRIMARY KEY ("id"))`,
    );
    await q.query(`CREATE INDEX "alert_webhooks_account" ON "alert_webhooks"("account_id", "created_at")`);
    await q.query(
      `CREATE TABLE "alert_tokens" ("token_id" uuid NOT NULL, "account_id" uuid NOT NULL, "name" text NOT NULL, "client_id" text NOT NULL, "duration" text NOT NULL, "expires_at" TIMESTAMP WITH TIME ZONE, "enabled" boolean NOT NULL, "deleted" boolean NOT NULL, "revision" bigint NOT NULL, "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "PK_54fe76660e08f7ffd500ad292b7" PRIMARY KEY ("token_id"))`,
    );
    await q.query(`CREATE INDEX "alert_tokens_expires" ON "alert_tokens"("expires_at")`);
    await q.query(`CREATE INDEX "alert_tokens_account" ON "alert_tokens"("account_id")`);
    await q.query(
      `CREATE TABLE "alert_sync_state" ("id" integer NOT NULL, "revision" bigint NOT NULL, "synced_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_6333ccdf9d212cee2a4ca3fdd83" PRIMARY KEY ("id"))`,
    );
    await q.query(`INSERT INTO "alert_sync_state" ("id", "revision") VALUES (1, 0)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "alert_sync_state"`);
    await q.query(`DROP INDEX "public"."alert_tokens_account"`);
    await q.query(`DROP INDEX "public"."alert_tokens_expires"`);
    await q.query(`DROP TABLE "alert_tokens"`);
    await q.query(`DROP INDEX "public"."alert_webhooks_account"`);
    await q.query(`DROP TABLE "alert_webhooks"`);
    await q.query(`DROP INDEX "public"."alert_policies_account"`);
    await q.query(`DROP TABLE "alert_policies"`);
    await q.query(`DROP INDEX "public"."alert_deliveries_due"`);
    await q.query(`DROP INDEX "public"."alert_deliveries_account_created"`);
    await q.query(`DROP INDEX "public"."alert_deliveries_token"`);
    await q.query(`DROP TABLE "alert_deliveries"`);
  }
}
