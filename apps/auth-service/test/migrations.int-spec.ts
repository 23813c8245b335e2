import { createTestDatabase, type TestDatabase } from '@gatehouse/testing';
import pg from 'pg';
import { database } from '../src/database/data-source.js';
import { LEGACY_MIGRATIONS_TABLE } from '../src/migrations/legacy-runner.js';

/**
 * What the auth service's own runner (until 0.2) left in a database: its tables, made by the same
 * SQL, and its record of them in `auth_service_migrations`. `applied` says how far it had got.
 */
async function prepareTheOldWay(url: string, applied: 1 | 2): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`CREATE TABLE "${LEGACY_MIGRATIONS_TABLE}" ("name" text PRIMARY KEY, "ran_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now())`);
    await client.query(`CREATE TABLE "signing_keys" ("kid" text NOT NULL, "alg" text NOT NULL DEFAULT 'RS256', "public_key_pem" text NOT NULL, "certificate_pem" text NOT NULL,
      "private_key_sealed" text NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "activates_at" TIMESTAMP WITH TIME ZONE NOT NULL,
      CONSTRAINT "PK_signing_keys" PRIMARY KEY ("kid"))`);
    await client.query(`CREATE INDEX "signing_keys_activates_at" ON "signing_keys" ("activates_at")`);
    await client.query(`INSERT INTO "${LEGACY_MIGRATIONS_TABLE}" (name) VALUES ('1767312000000-signing-keys')`);
    if (applied === 2) {
      await client.query(`CREATE TABLE "signing_key_settings" ("id" integer NOT NULL DEFAULT 1, "rotation_interval_ms" bigint NOT NULL,
        "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_signing_key_settings" PRIMARY KEY ("id"),
        CONSTRAINT "signing_key_settings_one_row" CHECK ("id" = 1))`);
      await client.query(`INSERT INTO "${LEGACY_MIGRATIONS_TABLE}" (name) VALUES ('1768200000000-signing-key-settings')`);
    }
    await client.query(
      `INSERT INTO signing_keys (kid, public_key_pem, certificate_pem, private_key_sealed, activates_at) VALUES ('k1', 'pem', 'cert', 'v1:sealed', now())`,
    );
  } finally {
    await client.end();
  }
}

async function query<T>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows as T[];
  } finally {
    await client.end();
  }
}

describe('auth-service migrations (libs/persistence, real PostgreSQL)', () => {
  const dbs: TestDatabase[] = [];
  const fresh = async () => {
    const db = await createTestDatabase(undefined, 'gh_test_auth_migrations');
    dbs.push(db);
    return db;
  };
  afterAll(async () => {
    await Promise.all(dbs.map((db) => db.drop()));
  });

  it('migrates a fresh database once, with no drift between the entities and the migrations', async () => {
    const db = await fresh();
    await expect(database.migrate(db.url)).resolves.toEqual(['SigningKeys1767312000000', 'SigningKeySettings1768200000000']);
    await expect(database.migrate(db.url)).resolves.toEqual([]);
    await expect(database.pendingSchemaChanges(db.url)).resolves.toMatchObject({ up: [] });
  });

  it('two replicas migrating at once: one runs the migrations, the other finds them done', async () => {
    const db = await fresh();
    const ran = await Promise.all([database.migrate(db.url), database.migrate(db.url)]);
    expect(ran.flat().sort()).toEqual(['SigningKeySettings1768200000000', 'SigningKeys1767312000000']);
  });

  it('takes over a database the old runner migrated: nothing is run twice, the keys stay', async () => {
    const db = await fresh();
    await prepareTheOldWay(db.url, 2);
    // Recorded (TypeORM's table), but their SQL is skipped: the tables exist already.
    await expect(database.migrate(db.url)).resolves.toEqual(['SigningKeys1767312000000', 'SigningKeySettings1768200000000']);
    await expect(database.migrate(db.url)).resolves.toEqual([]);
    await expect(query(db.url, 'SELECT kid FROM signing_keys')).resolves.toEqual([{ kid: 'k1' }]);
    await expect(database.pendingSchemaChanges(db.url)).resolves.toMatchObject({ up: [] });
  });

  it('a database the old runner had migrated half way gets the rest', async () => {
    const db = await fresh();
    await prepareTheOldWay(db.url, 1);
    await expect(database.migrate(db.url)).resolves.toEqual(['SigningKeys1767312000000', 'SigningKeySettings1768200000000']);
    await expect(query(db.url, `SELECT to_regclass('public.signing_key_settings') IS NOT NULL AS present`)).resolves.toEqual([{ present: true }]);
    await expect(query(db.url, 'SELECT kid FROM signing_keys')).resolves.toEqual([{ kid: 'k1' }]);
    await expect(database.pendingSchemaChanges(db.url)).resolves.toMatchObject({ up: [] });
  });
});
