import { defineDatabase } from '@gatehouse/persistence';
import { migrations } from '../migrations/index.js';
import { entities } from './entities.js';

/** The notification service's database: its entities, its migrations, its own migrations table. */
export const database = defineDatabase({ service: 'notification-service', entities, migrations, migrationsTableName: 'notification_service_migrations' });
export const { createDataSource, migrate, pendingSchemaChanges } = database;
