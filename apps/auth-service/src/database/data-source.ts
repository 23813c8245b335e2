import { defineDatabase } from '@gatehouse/persistence';
import { SigningKeyEntity, SigningKeySettingsEntity } from '../keys/signing-key.entity.js';
import { migrations } from '../migrations/index.js';

/**
 * The auth service's database: its entities, its migrations, its own migrations table (see
 * ../migrations/legacy-runner.ts for why it is not `auth_service_migrations`).
 */
export const database = defineDatabase({
  service: 'auth-service',
  entities: [SigningKeyEntity, SigningKeySettingsEntity],
  migrations,
  migrationsTableName: 'auth_service_typeorm_migrations',
});
export const { migrate } = database;
