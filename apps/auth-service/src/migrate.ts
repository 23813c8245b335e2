import { migrateCommand } from '@gatehouse/persistence';
import { database } from './database/data-source.js';

// `npm run migrate` (DATABASE_URL): runs pending migrations; `--check` fails on drift between the
// entities and the migrations; `--diff` prints the SQL a new migration needs.
process.exit(await migrateCommand(database, 'auth-service'));
