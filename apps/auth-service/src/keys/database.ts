import pg from 'pg';
import { migrations } from '../migrations/index.js';

const MIGRATION_LOCK = 0x6761_7465; // any constant; shared by every auth-service process

export function createPool(url: string, max = 4): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max });
  pool.on('error', () => undefined); // idle client errors surface on the next query instead
  return pool;
}

/** Runs pending migrations; returns the names it ran. */
export async function migrate(url: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    await client.query(`CREATE TABLE IF NOT EXISTS "auth_service_migrations" ("name" text PRIMARY KEY, "ran_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now())`);
    const done = new Set((await client.query<{ name: string }>('SELECT name FROM auth_service_migrations')).rows.map((r) => r.name));
    const ran: string[] = [];
    for (const m of migrations) {
      if (done.has(m.name)) continue;
      await client.query('BEGIN');
      try {
        for (const sql of m.up) await client.query(sql);
        await client.query('INSERT INTO auth_service_migrations (name) VALUES ($1)', [m.name]);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        throw error;
      }
      ran.push(m.name);
    }
    return ran;
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    await client.end();
  }
}
