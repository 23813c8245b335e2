import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Access applications and their Service Auth policies (SQL from `migrate.js --diff`). */
export class AccessApps1767400000000 implements MigrationInterface {
  name = 'AccessApps1767400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE TABLE "access_apps" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "account_id" uuid NOT NULL, "name" text NOT NULL, "domain" text NOT NULL, "type" text NOT NULL DEFAULT 'self_hosted', "session_duration" text NOT NULL, "aud" text NOT NULL, "upstream" text, "read_service_tokens_from_header" text, "sessions_revoked_at" TIMESTAMP WITH TIME ZONE, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL, "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "PK_d652681373fd645a09ea1912d62" PRIMARY KEY ("id"))`,
    );
    await q.query(`CREATE UNIQUE INDEX "access_apps_aud" ON "access_apps" ("aud")`);
    await q.query(`CREATE INDEX "access_apps_account_created" ON "access_apps" ("account_id", "created_at")`);
    await q.query(`CREATE UNIQUE INDEX "access_apps_domain" ON "access_apps" ("domain")`);
    await q.query(
      `CREATE TABLE "access_policies" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "account_id" uuid NOT NULL, "app_id" uuid NOT NULL, "name" text NOT NULL, "decision" text NOT NULL DEFAULT 'non_identity', "precedence" integer NOT NULL, "include_rules" jsonb NOT NULL, "require_rules" jsonb NOT NULL, "exclude_rules" jsonb NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL, "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "PK_93705ea815f89343d7bf80cd60e" PRIMARY KEY ("id"))`,
    );
    await q.query(`CREATE INDEX "access_policies_account" ON "access_policies" ("account_id")`);
    await q.query(`CREATE INDEX "access_policies_app_precedence" ON "access_policies" ("app_id", "precedence")`);
    await q.query(
      `ALTER TABLE "access_policies" ADD CONSTRAINT "access_policies_app_fk" FOREIGN KEY ("app_id") REFERENCES "access_apps"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "access_policies" DROP CONSTRAINT "access_policies_app_fk"`);
    await q.query(`DROP INDEX "public"."access_policies_app_precedence"`);
    await q.query(`DROP INDEX "public"."access_policies_account"`);
    await q.query(`DROP TABLE "access_policies"`);
    await q.query(`DROP INDEX "public"."access_apps_domain"`);
    await q.query(`DROP INDEX "public"."access_apps_account_created"`);
    await q.query(`DROP INDEX "public"."access_apps_aud"`);
    await q.query(`DROP TABLE "access_apps"`);
  }
}
