import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Incremental replication (docs/replication.md): every replicated row carries the revision of the
 * change that last wrote it, deletions leave tombstones, and `floor` records the highest purged
 * tombstone revision. Existing rows start at revision 0, which a replica's first pull (from -1)
 * includes.
 */
export class ReplicaRevisions1767700000000 implements MigrationInterface {
  name = 'ReplicaRevisions1767700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE TABLE "replica_tombstones" ("id" uuid NOT NULL, "entity" text NOT NULL, "revision" bigint NOT NULL, "deleted_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "PK_b4ad97bb1697647d533412ee7d7" PRIMARY KEY ("id"))`,
    );
    await q.query(`CREATE INDEX "replica_tombstones_revision" ON "replica_tombstones" ("revision", "id")`);
    await q.query(`ALTER TABLE "access_apps" ADD "revision" bigint NOT NULL DEFAULT '0'`);
    await q.query(`ALTER TABLE "access_policies" ADD "revision" bigint NOT NULL DEFAULT '0'`);
    await q.query(`ALTER TABLE "service_tokens" ADD "revision" bigint NOT NULL DEFAULT '0'`);
    await q.query(`ALTER TABLE "replication_state" ADD "floor" bigint NOT NULL DEFAULT '0'`);
    await q.query(`CREATE INDEX "access_apps_revision" ON "access_apps" ("revision", "id")`);
    await q.query(`CREATE INDEX "access_policies_revision" ON "access_policies" ("revision", "id")`);
    await q.query(`CREATE INDEX "service_tokens_revision" ON "service_tokens" ("revision", "id")`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "public"."service_tokens_revision"`);
    await q.query(`DROP INDEX "public"."access_policies_revision"`);
    await q.query(`DROP INDEX "public"."access_apps_revision"`);
    await q.query(`ALTER TABLE "replication_state" DROP COLUMN "floor"`);
    await q.query(`ALTER TABLE "service_tokens" DROP COLUMN "revision"`);
    await q.query(`ALTER TABLE "access_policies" DROP COLUMN "revision"`);
    await q.query(`ALTER TABLE "access_apps" DROP COLUMN "revision"`);
    await q.query(`DROP INDEX "public"."replica_tombstones_revision"`);
    await q.query(`DROP TABLE "replica_tombstones"`);
  }
}
