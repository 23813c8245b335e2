import type { DatabaseDefinition } from '@gatehouse/persistence';
import { Init1767225600000 } from './1767225600000-init.js';
import { AccessApps1767400000000 } from './1767400000000-access-apps.js';
import { AuditTokenIndex1767500000000 } from './1767500000000-audit-token-index.js';
import { TokenSearchIndex1767600000000 } from './1767600000000-token-search-index.js';
import { ReplicaRevisions1767700000000 } from './1767700000000-replica-revisions.js';
import { TokenListOrderIndex1768000000000 } from './1768000000000-token-list-order-index.js';
import { TokenCounts1768000100000 } from './1768000100000-token-counts.js';
import { AccessOrganizations1768200000000 } from './1768200000000-access-organizations.js';
import { ReusablePolicies1768100000000 } from './1768100000000-reusable-policies.js';
import { ReplicaOrganizations1768300000000 } from './1768300000000-replica-organizations.js';
import { ReplicaRevisionSequence1768400000000 } from './1768400000000-replica-revision-sequence.js';
import { TokenDayCounts1768500000000 } from './1768500000000-token-day-counts.js';

// Every migration, in order. Listed as imported classes (no globs: jest-ESM needs it).
export const migrations: DatabaseDefinition['migrations'] = [
  Init1767225600000,
  AccessApps1767400000000,
  AuditTokenIndex1767500000000,
  TokenSearchIndex1767600000000,
  ReplicaRevisions1767700000000,
  TokenListOrderIndex1768000000000,
  TokenCounts1768000100000,
  ReusablePolicies1768100000000,
  AccessOrganizations1768200000000,
  ReplicaOrganizations1768300000000,
  ReplicaRevisionSequence1768400000000,
  TokenDayCounts1768500000000,
];
