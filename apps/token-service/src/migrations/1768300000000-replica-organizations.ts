import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Organizations in the change feed (docs/replication.md): each row carries the revision of the
 * change that last wrote it, like apps and policies. Existing rows start at revision 0, which a
 * replica's first pull (from -1) includes. Organizations are never deleted (no tombstones).
 */
export class ReplicaOrganizations1768300000000 implements MigrationInterface {
  name = 'ReplicaOrganizations1768300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "access_organizations" ADD "revision" bigint NOT NULL DEFAULT '0'`);
    await q.query(`CREATE INDEX "access_organizations_revision" ON "access_organizations" ("revision", "account_id")`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "public"."access_organizations_revision"`);
    await q.query(`ALTER TABLE "access_organizations" DROP COLUMN "revision"`);
  }
}
