import pg from 'pg';

/** The gateway's connections: the KeyRing's few statements need no ORM (migrations: ./data-source.ts). */
export function createPool(url: string, max = 4): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max });
  pool.on('error', () => undefined); // idle client errors surface on the next query instead
  return pool;
}
