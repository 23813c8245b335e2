import { DEFAULT_INACTIVITY, DEFAULT_ORG_SESSION_DURATION, type Organization } from '@gatehouse/contracts';
import type { OrganizationEntity } from './organization.entity.js';

/** The contract shape of a saved organization. */
export function toOrganization(o: OrganizationEntity): Organization {
  return {
    accountId: o.accountId,
    name: o.name,
    authDomain: o.authDomain,
    sessionDuration: o.sessionDuration,
    strictServiceTokenAuth: o.strictServiceTokenAuth,
    serviceTokenInactivity: { enabled: o.inactivityEnabled, inactivityThresholdDays: o.inactivityThresholdDays, action: o.inactivityAction },
    createdAt: o.createdAt.toISOString(),
    updatedAt: o.updatedAt.toISOString(),
  };
}

/** What an account that never saved its organization has. */
export function defaultOrganization(accountId: string, accountName: string): Organization {
  return {
    accountId,
    name: accountName,
    authDomain: null,
    sessionDuration: DEFAULT_ORG_SESSION_DURATION,
    strictServiceTokenAuth: false,
    serviceTokenInactivity: { ...DEFAULT_INACTIVITY },
    createdAt: null,
    updatedAt: null,
  };
}
