// Prints the SQL TypeORM would run to bring DATABASE_URL's schema in line with the entities
// (up, then down). Use it to write a migration: migrate a scratch database, change an entity,
// build, run this, read the SQL, and put it (with a real down) in src/migrations/.
import { createDataSource } from '../dist/database/data-source.js';

const url = process.argv[2] ?? process.env.DATABASE_URL;
if (!url) throw new Error('usage: node scripts/schema-diff.mjs postgres://…');
const ds = createDataSource(url, { poolSize: 1 });
await ds.initialize();
const sql = await ds.driver.createSchemaBuilder().log();
console.log('-- up');
for (const q of sql.upQueries) console.log(q.query + ';');
console.log('-- down');
for (const q of sql.downQueries.reverse()) console.log(q.query + ';');
await ds.destroy();
