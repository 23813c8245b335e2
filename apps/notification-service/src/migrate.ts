import { z } from 'zod';
import { migrate, pendingSchemaChanges } from './database/data-source.js';

// `npm run migrate` (DATABASE_URL): runs pending migrations. `--check`: fails if the entities and
// the migrated schema differ (drift), printing the SQL a new migration would need.
const url = z.string().url().safeParse(process.env.DATABASE_URL);
if (!url.success) {
  console.error('notification-service migrate: DATABASE_URL must be a postgres:// URL');
  process.exit(1);
}
const ran = await migrate(url.data);
console.log(ran.length ? `notification-service: ran ${ran.join(', ')}` : 'notification-service: schema up to date');
if (process.argv.includes('--check')) {
  const pending = await pendingSchemaChanges(url.data);
  if (pending.length) {
    console.error(`notification-service: entities drift from migrations; a migration needs:\n${pending.join(';\n')}`);
    process.exit(1);
  }
  console.log('notification-service: no drift between entities and migrations');
}
