import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Revisions from a sequence instead of one row every writer locked until its commit (which
 * serialised all changes: ~70 creates/s). Concurrent changes now commit in any order, so the feed
 * serves only up to a *safe* revision, below which every allocated revision has committed or
 * aborted (docs/replication.md, "Concurrent writers"):
 *
 * - `replica_next_revision()` (writers, in the change's transaction): under a shared session-level
 *   advisory gate held only for the allocation, takes `nextval` and a transaction-level advisory
 *   lock named after the revision. That lock is released only after the commit (or abort) is
 *   visible to new snapshots.
 * - `replica_safe_revision()` (the feed): under the gate exclusively (it waits only for writers in
 *   the middle of an allocation, never for a transaction), the sequence's last value, lowered to
 *   one below the smallest revision whose lock is still held.
 * - `replica_bump(…)`: a change's whole revision step in one round trip: locks the touched rows
 *   first (so one row's revisions follow its commits), allocates, stamps the rows, writes
 *   tombstones.
 *
 * Revision locks are (key1, key2) advisory locks with key1 = REV_BASE + (revision >> 31) and
 * key2 = revision & 0x7fffffff; the gate is (GATE, 0). REV_BASE and GATE are below.
 */
const GATE = 0x47470000; // 'GG'
const REV_BASE = 0x47480000; // 'GH': 65,536 × 2^31 revisions before key1 leaves the range

export class ReplicaRevisionSequence1768400000000 implements MigrationInterface {
  name = 'ReplicaRevisionSequence1768400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE SEQUENCE "replica_revision_seq" AS bigint MINVALUE 0 START WITH 1 CACHE 1`);
    await q.query(`SELECT setval('replica_revision_seq', (SELECT "revision" FROM "replication_state" WHERE "id" = 1), true)`);
    await q.query(`ALTER TABLE "replication_state" DROP COLUMN "revision"`);
    await q.query(`
      CREATE FUNCTION replica_next_revision() RETURNS bigint LANGUAGE plpgsql AS $$
      DECLARE r bigint;
      BEGIN
        PERFORM pg_advisory_lock_shared(${GATE}, 0);
        BEGIN
          r := nextval('replica_revision_seq');
          PERFORM pg_advisory_xact_lock(${REV_BASE} + (r >> 31)::int, (r & 2147483647)::int);
        EXCEPTION WHEN OTHERS OR query_canceled THEN
          PERFORM pg_advisory_unlock_shared(${GATE}, 0);
          RAISE;
        END;
        PERFORM pg_advisory_unlock_shared(${GATE}, 0);
        RETURN r;
      END $$`);
    await q.query(`
      CREATE FUNCTION replica_safe_revision() RETURNS bigint LANGUAGE plpgsql AS $$
      DECLARE v bigint; m bigint;
      BEGIN
        PERFORM pg_advisory_lock(${GATE}, 0);
        BEGIN
          SELECT last_value INTO v FROM replica_revision_seq;
          SELECT min(((l.classid::bigint - ${REV_BASE}) << 31) + l.objid::bigint) INTO m
            FROM pg_locks l
           WHERE l.locktype = 'advisory' AND l.objsubid = 2
             AND l.classid::bigint >= ${REV_BASE} AND l.classid::bigint < ${REV_BASE} + 65536
             AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database());
        EXCEPTION WHEN OTHERS OR query_canceled THEN
          PERFORM pg_advisory_unlock(${GATE}, 0);
          RAISE;
        END;
        PERFORM pg_advisory_unlock(${GATE}, 0);
        RETURN CASE WHEN m IS NULL THEN v ELSE LEAST(v, m - 1) END;
      END $$`);
    await q.query(`
      CREATE FUNCTION replica_bump(tokens uuid[], apps uuid[], policies uuid[], organizations uuid[], dead uuid[], dead_entities text[])
      RETURNS bigint LANGUAGE plpgsql AS $$
      DECLARE r bigint;
      BEGIN
        PERFORM 1 FROM "service_tokens" WHERE "id" = ANY(tokens) FOR UPDATE;
        PERFORM 1 FROM "access_apps" WHERE "id" = ANY(apps) FOR UPDATE;
        PERFORM 1 FROM "access_policies" WHERE "id" = ANY(policies) FOR UPDATE;
        PERFORM 1 FROM "access_organizations" WHERE "account_id" = ANY(organizations) FOR UPDATE;
        r := replica_next_revision();
        UPDATE "service_tokens" SET "revision" = r WHERE "id" = ANY(tokens);
        UPDATE "access_apps" SET "revision" = r WHERE "id" = ANY(apps);
        UPDATE "access_policies" SET "revision" = r WHERE "id" = ANY(policies);
        UPDATE "access_organizations" SET "revision" = r WHERE "account_id" = ANY(organizations);
        INSERT INTO "replica_tombstones" ("id", "entity", "revision", "deleted_at")
        SELECT u.id, u.entity, r, now() FROM unnest(dead, dead_entities) AS u(id, entity)
        ON CONFLICT ("id") DO UPDATE SET "revision" = EXCLUDED."revision", "deleted_at" = EXCLUDED."deleted_at";
        RETURN r;
      END $$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION replica_bump(uuid[], uuid[], uuid[], uuid[], uuid[], text[])`);
    await q.query(`DROP FUNCTION replica_safe_revision()`);
    await q.query(`DROP FUNCTION replica_next_revision()`);
    await q.query(`ALTER TABLE "replication_state" ADD "revision" bigint NOT NULL DEFAULT '0'`);
    await q.query(`UPDATE "replication_state" SET "revision" = (SELECT last_value FROM "replica_revision_seq") WHERE "id" = 1`);
    await q.query(`DROP SEQUENCE "replica_revision_seq"`);
  }
}
