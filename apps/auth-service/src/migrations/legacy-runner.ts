import type { QueryRunner } from 'typeorm';

/**
 * Until 0.2 the auth service ran its migrations with a runner of its own, which recorded them by
 * name in `auth_service_migrations` ("name", "ran_at"). TypeORM keeps its record in
 * `auth_service_typeorm_migrations` (a table of another shape, hence another name); the
 * migrations that runner may have applied already ask it first, so a database it created is
 * taken over as it is. New migrations do not need this.
 */
export const LEGACY_MIGRATIONS_TABLE = 'auth_service_migrations';

export async function ranBeforeTypeOrm(q: QueryRunner, legacyName: string): Promise<boolean> {
  const [{ present }] = (await q.query(`SELECT to_regclass($1) IS NOT NULL AS present`, [`public.${LEGACY_MIGRATIONS_TABLE}`])) as Array<{ present: boolean }>;
  if (!present) return false;
  const rows = (await q.query(`SELECT 1 FROM "${LEGACY_MIGRATIONS_TABLE}" WHERE "name" = $1`, [legacyName])) as unknown[];
  return rows.length > 0;
}
