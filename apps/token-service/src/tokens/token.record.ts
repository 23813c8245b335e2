import type { ServiceToken, VerifierToken } from '@gatehouse/contracts';

/** A service token as the domain holds it (the stored form: hashes, never the secret). */
export interface TokenRecord {
  id: string;
  accountId: string;
  name: string;
  clientId: string;
  duration: string;
  secretHash: string;
  clientSecretVersion: number;
  previousSecretHash: string | null;
  previousSecretExpiresAt: Date | null;
  enabled: boolean;
  expiresAt: Date | null;
  lastSeenAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/** The admin's view: everything but the hashes. */
export function toServiceToken(t: TokenRecord): ServiceToken {
  return {
    id: t.id,
    accountId: t.accountId,
    name: t.name,
    clientId: t.clientId,
    duration: t.duration,
    createdAt: t.createdAt.toISOString(),
    updatedAt: t.updatedAt.toISOString(),
    expiresAt: iso(t.expiresAt),
    lastSeenAt: iso(t.lastSeenAt),
    enabled: t.enabled,
    clientSecretVersion: t.clientSecretVersion,
    previousClientSecretExpiresAt: iso(t.previousSecretExpiresAt),
  };
}

/** A verifier's view: what the gateway needs to check a credential (keyed hashes only). */
export function toVerifierToken(t: TokenRecord): VerifierToken {
  return {
    id: t.id,
    accountId: t.accountId,
    name: t.name,
    clientId: t.clientId,
    duration: t.duration,
    enabled: t.enabled,
    expiresAt: iso(t.expiresAt),
    secretHash: t.secretHash,
    clientSecretVersion: t.clientSecretVersion,
    previousSecretHash: t.previousSecretHash,
    previousClientSecretExpiresAt: iso(t.previousSecretExpiresAt),
    createdAt: t.createdAt.toISOString(),
    updatedAt: t.updatedAt.toISOString(),
  };
}
