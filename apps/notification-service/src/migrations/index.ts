import type { DatabaseDefinition } from '@gatehouse/persistence';
import { AlertsInit1767225600100 } from './1767225600100-alerts-init.js';
import { WebhookOutcomes1768200000000 } from './1768200000000-webhook-outcomes.js';

// Every migration, in order. Listed as imported classes (no globs: jest-ESM needs it).
export const migrations: DatabaseDefinition['migrations'] = [AlertsInit1767225600100, WebhookOutcomes1768200000000];
