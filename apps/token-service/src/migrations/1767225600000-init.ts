import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Accounts, service tokens, the audit log and the replication revision; a default account. */
export class Init1767225600000 implements MigrationInterface {
  name = 'Init1767225600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE TABLE "accounts" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "name" text NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_5a7a02c20412299d198e097a8fe" PRIMARY KEY ("id"))`,
    );
    await q.query(
      `CREATE TABLE "audit_events" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "account_id" uuid NOT NULL, "action" text NOT NULL, "actor" jsonb NOT NULL, "resource_type" text NOT NULL, "resource_id" text, "resource_name" text, "occurred_at" TIMESTAMP WITH TIME ZONE NOT NULL, "metadata" jsonb NOT NULL DEFAULT '{}'::jsonb, CONSTRAINT "PK_910f64d901a5c3e9878f0d4a407" PRIMARY KEY ("id"))`,
    );
    await q.query(`CREATE INDEX "audit_events_account_resource" ON "audit_events" ("account_id", "resource_id")`);
    await q.query(`CREATE INDEX "audit_events_account_time" ON "audit_events" ("account_id", "occurred_at")`);
    await q.query(
      `CREATE TABLE "service_tokens" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "account_id" uuid NOT NULL, "name" text NOT NULL, "client_id" text NOT NULL, "duration" text NOT NULL, "secret_hash" text NOT NULL, "client_secret_version" integer NOT NULL DEFAULT '1', "previous_secret_hash" text, "previous_secret_expires_at" TIMESTAMP WITH TIME ZONE, "enabled" boolean NOT NULL DEFAULT true, "expires_at" TIMESTAMP WITH TIME ZONE, "last_seen_at" TIMESTAMP WITH TIME ZONE, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL, "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "PK_82d2e44e9db9e25e79096018a3e" PRIMARY KEY ("id"))`,
    );
    await q.query(`CREATE UNIQUE INDEX "service_tokens_client_id" ON "service_tokens" ("client_id")`);
    await q.query(`CREATE INDEX "service_tokens_account_name" ON "service_tokens" ("account_id", "name")`);
    await q.query(`CREATE INDEX "service_tokens_account_created" ON "service_tokens" ("account_id", "created_at")`);
    await q.query(
      `CREATE TABLE "replication_state" ("id" integer NOT NULL, "revision" bigint NOT NULL DEFAULT '0', CONSTRAINT "PK_3787dc38ec61bc81b767f27fe2f" PRIMARY KEY ("id"))`,
    );
    await q.query(`INSERT INTO "replication_state" ("id", "revision") VALUES (1, 0)`);
    await q.query(`INSERT INTO "accounts" ("name") VALUES ('Default account')`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "replication_state"`);
    await q.query(`DROP INDEX "public"."service_tokens_account_name"`);
    await q.query(`DROP INDEX "public"."service_tokens_account_created"`);
    await q.query(`DROP INDEX "public"."service_tokens_client_id"`);
    await q.query(`DROP TABLE "service_tokens"`);
    await q.query(`DROP INDEX "public"."audit_events_account_time"`);
    await q.query(`DROP INDEX "public"."audit_events_account_resource"`);
    await q.query(`DROP TABLE "audit_events"`);
    await q.query(`DROP TABLE "accounts"`);
  }
}
