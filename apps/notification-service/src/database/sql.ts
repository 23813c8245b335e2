import { DataSource, type EntityManager } from 'typeorm';

/**
 * Runs one SQL statement and returns its rows, whatever the command (TypeORM's plain `query`
 * returns `[rows, count]` for UPDATE/DELETE but bare rows otherwise). Inside a transaction pass
 * its EntityManager.
 */
export async function sqlRows<T = Record<string, unknown>>(db: DataSource | EntityManager, text: string, params: unknown[] = []): Promise<T[]> {
  const manager = db instanceof DataSource ? db.manager : db;
  const existing = manager.queryRunner;
  const runner = existing ?? manager.connection.createQueryRunner();
  try {
    const result = await runner.query(text, params, true);
    return result.records as T[];
  } finally {
    if (!existing) await runner.release();
  }
}
