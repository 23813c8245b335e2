import { DataSource, type MixedList, type EntitySchema } from 'typeorm';
import { z } from 'zod';

export interface DatabaseDefinition {
  /** The service's name, for messages. */
  service: string;
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- TypeORM's own types
  entities: MixedList<Function | string | EntitySchema>;
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- migration classes
  migrations: Function[];
  /** Each service keeps its own migrations table, so services may share one database. */
  migrationsTableName: string;
}

export interface Database {
  /** A DataSource that never synchronizes: the schema comes from migrations only. */
  createDataSource(url: string, options?: { poolSize?: number }): DataSource;
  /** Runs pending migrations (each in its own transaction, one process at a time); returns their names. */
  migrate(url: string): Promise<string[]>;
  /** SQL TypeORM would still run to match the entities: empty means no drift. */
  pendingSchemaChanges(url: string): Promise<{ up: string[]; down: string[] }>;
}

export function defineDatabase(def: DatabaseDefinition): Database {
  const createDataSource = (url: string, options: { poolSize?: number } = {}) =>
    new DataSource({
      type: 'postgres',
      url,
      entities: def.entities,
      migrations: def.migrations,
      migrationsTableName: def.migrationsTableName,
      synchronize: false,
      migrationsRun: false,
      uuidExtension: 'pgcrypto',
      extra: { max: options.poolSize ?? 10 },
      logging: ['error'],
    });
  const withDataSource = async <T>(url: string, fn: (ds: DataSource) => Promise<T>): Promise<T> => {
    const ds = await createDataSource(url, { poolSize: 2 }).initialize();
    try {
      return await fn(ds);
    } finally {
      await ds.destroy();
    }
  };
  return {
    createDataSource,
    migrate: (url) =>
      withDataSource(url, async (ds) => {
        // One migrator at a time (replicas may start together): a session lock, held on a connection of its own.
        const lock = ds.createQueryRunner();
        await lock.connect();
        try {
          await lock.query('SELECT pg_advisory_lock(hashtext($1))', [def.migrationsTableName]);
          return (await ds.runMigrations({ transaction: 'each' })).map((m) => m.name);
        } finally {
          await lock.query('SELECT pg_advisory_unlock(hashtext($1))', [def.migrationsTableName]).catch(() => undefined);
          await lock.release();
        }
      }),
    pendingSchemaChanges: (url) =>
      withDataSource(url, async (ds) => {
        const sql = await ds.driver.createSchemaBuilder().log();
        return { up: sql.upQueries.map((q) => q.query), down: sql.downQueries.reverse().map((q) => q.query) };
      }),
  };
}

/**
 * The `dist/migrate.js` command of a service (DATABASE_URL from the environment):
 *   (no flag)  run pending migrations
 *   --check    then fail if the entities drift from the migrations (CI's drift check)
 *   --diff     then print the SQL a new migration needs (up and down), to write one by hand
 * Returns the process exit code.
 */
export async function migrateCommand(db: Database, service: string, argv = process.argv, env = process.env): Promise<number> {
  const url = z.string().url().safeParse(env.DATABASE_URL);
  if (!url.success) {
    console.error(`${service} migrate: DATABASE_URL must be a postgres:// URL`);
    return 1;
  }
  try {
    const ran = await db.migrate(url.data);
    console.log(ran.length ? `${service}: ran ${ran.join(', ')}` : `${service}: schema up to date`);
    if (!argv.includes('--check') && !argv.includes('--diff')) return 0;
    const pending = await db.pendingSchemaChanges(url.data);
    if (argv.includes('--diff')) {
      console.log(['-- up', ...pending.up.map((q) => q + ';'), '-- down', ...pending.down.map((q) => q + ';')].join('\n'));
      return 0;
    }
    if (pending.up.length) {
      console.error(`${service}: entities drift from migrations; a migration needs:\n${pending.up.join(';\n')}`);
      return 1;
    }
    console.log(`${service}: no drift between entities and migrations`);
    return 0;
  } catch (error) {
    console.error(`${service} migrate failed: ${(error as Error).message}`);
    return 1;
  }
}
