import { z } from 'zod';
import { migrate } from './keys/database.js';

// `npm run migrate` (DATABASE_URL): creates/updates the auth service's own table (signing_keys).
const url = z.string().url().safeParse(process.env.DATABASE_URL);
if (!url.success) {
  console.error('auth-service migrate: DATABASE_URL must be a postgres:// URL');
  process.exit(1);
}
try {
  const ran = await migrate(url.data);
  console.log(ran.length ? `auth-service: ran ${ran.join(', ')}` : 'auth-service: schema up to date');
} catch (error) {
  console.error(`auth-service migrate failed: ${(error as Error).message}`);
  process.exit(1);
}
