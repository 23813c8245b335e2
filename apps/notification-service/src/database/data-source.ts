import { DataSource } from 'typeorm';
import { migrations } from '../migrations/index.js';
import { entities } from './entities.js';

/** The notification service's DataSource. Never synchronizes: the schema comes from migrations only. */
export function createDataSource(url: string, options: { poolSize?: number } = {}): DataSource {
  return new DataSource({
    type: 'postgres',
    url,
    entities,
    migrations,
    synchronize: false,
    migrationsRun: false,
    // Own migrations table: services may share one database (DATABASE_URL), each with its own tables.
    migrationsTableName: 'notification_service_migrations',
    uuidExtension: 'pgcrypto',
    extra: { max: options.poolSize ?? 10 },
    logging: ['error'],
  });
}

/** Runs pending migrations in their own connection (used by `npm run migrate` and tests). */
export async function migrate(url: string): Promise<string[]> {
  const ds = createDataSource(url, { poolSize: 2 });
  await ds.initialize();
  try {
    const ran = await ds.runMigrations({ transaction: 'each' });
    return ran.map((m) => m.name);
  } finally {
    await ds.destroy();
  }
}

/** SQL that TypeORM would still run to match the entities: empty means no drift. */
export async function pendingSchemaChanges(url: string): Promise<string[]> {
  const ds = createDataSource(url, { poolSize: 2 });
  await ds.initialize();
  try {
    const sql = await ds.driver.createSchemaBuilder().log();
    return sql.upQueries.map((q) => q.query);
  } finally {
    await ds.destroy();
  }
}
