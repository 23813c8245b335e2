import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Reusable Service Auth policies and the applications' links to them (precedence per app; a
 * linked policy cannot be deleted: RESTRICT), and the application fields Cloudflare clients send
 * (cookie attributes, service_auth_401_redirect, tags, app_launcher_visible). SQL from
 * `migrate.js --diff`.
 */
export class ReusablePolicies1768100000000 implements MigrationInterface {
  name = 'ReusablePolicies1768100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE TABLE "access_reusable_policies" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "account_id" uuid NOT NULL, "name" text NOT NULL, "decision" text NOT NULL DEFAULT 'non_identity', "include_rules" jsonb NOT NULL, "require_rules" jsonb NOT NULL, "exclude_rules" jsonb NOT NULL, "session_duration" text, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL, "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "PK_1725b6ea68bbecdb7dc4faeb6b4" PRIMARY KEY ("id"))`,
    );
    await q.query(`CREATE INDEX "access_reusable_policies_account_created" ON "access_reusable_policies"("account_id", "created_at")`);
    await q.query(
      `CREATE TABLE "access_app_policy_links" ("app_id" uuid NOT NULL, "policy_id" uuid NOT NULL, "precedence" integer NOT NULL, CONSTRAINT "access_app_policy_links_pk" PRIMARY KEY ("app_id", "policy_id"))`,
    );
    await q.query(`CREATE INDEX "access_app_policy_links_policy" ON "access_app_policy_links"("policy_id")`);
    await q.query(`ALTER TABLE "access_apps" ADD "http_only_cookie_attribute" boolean NOT NULL DEFAULT true`);
    await q.query(`ALTER TABLE "access_apps" ADD "same_site_cookie_attribute" text`);
    await q.query(`ALTER TABLE "access_apps" ADD "path_cookie_attribute" boolean NOT NULL DEFAULT false`);
    await q.query(`ALTER TABLE "access_apps" ADD "service_auth_401_redirect" boolean NOT NULL DEFAULT false`);
    await q.query(`ALTER TABLE "access_apps" ADD "tags" jsonb NOT NULL DEFAULT '[]'`);
    await q.query(`ALTER TABLE "access_apps" ADD "app_launcher_visible" boolean NOT NULL DEFAULT true`);
    await q.query(
      `ALTER TABLE "access_app_policy_links" ADD CONSTRAINT "access_app_policy_links_app_fk" FOREIGN KEY ("app_id") REFERENCES "access_apps"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await q.query(
      `ALTER TABLE "access_app_policy_links" ADD CONSTRAINT "access_app_policy_links_policy_fk" FOREIGN KEY ("policy_id") REFERENCES "access_reusable_policies"("id") ON DELETE RESTRICT ON UPDATE NO ACTION`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "access_app_policy_links" DROP CONSTRAINT "access_app_policy_links_policy_fk"`);
    await q.query(`ALTER TABLE "access_app_policy_links" DROP CONSTRAINT "access_app_policy_links_app_fk"`);
    await q.query(`ALTER TABLE "access_apps" DROP COLUMN "app_launcher_visible"`);
    await q.query(`ALTER TABLE "access_apps" DROP COLUMN "tags"`);
    await q.query(`ALTER TABLE "access_apps" DROP COLUMN "service_auth_401_redirect"`);
    await q.query(`ALTER TABLE "access_apps" DROP COLUMN "path_cookie_attribute"`);
    await q.query(`ALTER TABLE "access_apps" DROP COLUMN "same_site_cookie_attribute"`);
    await q.query(`ALTER TABLE "access_apps" DROP COLUMN "http_only_cookie_attribute"`);
    await q.query(`DROP INDEX "public"."access_app_policy_links_policy"`);
    await q.query(`DROP TABLE "access_app_policy_links"`);
    await q.query(`DROP INDEX "public"."access_reusable_policies_account_created"`);
    await q.query(`DROP TABLE "access_reusable_policies"`);
  }
}
