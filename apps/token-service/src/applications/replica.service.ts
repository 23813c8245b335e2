import type { Application, Organization, Policy, VerifierToken } from '@gatehouse/contracts';
import type { Tx } from '../database/unit-of-work.js';
import { toVerifierToken, type TokenRecord } from '../tokens/token.record.js';
import { toApplication, toPolicy, type LinkedApplicationRecord, type PolicyRecord } from './application.record.js';

export interface ReplicaSources {
  /** Runs `fn` in one REPEATABLE READ transaction (see readConsistent). */
  readConsistent<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  revision(tx: Tx): Promise<number>;
  tokens(tx: Tx): Promise<TokenRecord[]>;
  /** Each with its linked reusable policies resolved. */
  apps(tx: Tx): Promise<LinkedApplicationRecord[]>;
  policies(tx: Tx): Promise<PolicyRecord[]>;
  /** Saved Access organizations (the gateway applies strict_service_token_auth). */
  organizations(tx: Tx): Promise<Organization[]>;
}

/** Everything the gateway replicates, read in one transaction so it matches the revision. */
export class ReplicaService {
  constructor(private readonly sources: ReplicaSources) {}

  snapshot(): Promise<{ revision: number; tokens: VerifierToken[]; apps: Application[]; policies: Policy[]; organizations: Organization[] }> {
    const s = this.sources;
    return s.readConsistent(async (tx) => {
      const revision = await s.revision(tx);
      const tokens = await s.tokens(tx);
      const apps = await s.apps(tx);
      const policies = await s.policies(tx);
      const organizations = await s.organizations(tx);
      return { revision, tokens: tokens.map(toVerifierToken), apps: apps.map(toApplication), policies: policies.map(toPolicy), organizations };
    });
  }
}
