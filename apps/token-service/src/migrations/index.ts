import { Init1767225600000 } from './1767225600000-init.js';
import { AccessApps1767400000000 } from './1767400000000-access-apps.js';
import { AuditTokenIndex1767500000000 } from './1767500000000-audit-token-index.js';
import { TokenSearchIndex1767600000000 } from './1767600000000-token-search-index.js';
import { ReusablePolicies1768100000000 } from './1768100000000-reusable-policies.js';

// Every migration, in order. Listed as imported classes (no globs: jest-ESM needs it).
export const migrations: Function[] = [Init1767225600000, AccessApps1767400000000, AuditTokenIndex1767500000000, TokenSearchIndex1767600000000, ReusablePolicies1768100000000];
