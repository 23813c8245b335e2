import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Access organizations (one per account: strict service-token mode, inactivity cleanup), and a
 * partial index for the access request log (the gateway's decisions in the audit log, by time).
 */
export class AccessOrganizations1768200000000 implements MigrationInterface {
  name = 'AccessOrganizations1768200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "access_organizations" (
      "account_id" uuid NOT NULL,
      "name" text NOT NULL,
      "auth_domain" text,
      "session_duration" text NOT NULL,
      "strict_service_token_auth" boolean NOT NULL DEFAULT false,
      "inactivity_enabled" boolean NOT NULL DEFAULT false,
      "inactivity_threshold_days" integer NOT NULL DEFAULT 90,
      "inactivity_action" text NOT NULL DEFAULT 'disable',
      "created_at" TIMESTAMP WITH TIME ZONE NOT NULL,
      "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL,
      CONSTRAINT "PK_access_organizations" PRIMARY KEY ("account_id"))`);
    await q.query(
      `CREATE INDEX "audit_events_access_requests" ON "audit_events" ("account_id", "occurred_at", "id") WHERE "action" IN ('access.allowed', 'access.denied')`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "public"."audit_events_access_requests"`);
    await q.query(`DROP TABLE "access_organizations"`);
  }
}
