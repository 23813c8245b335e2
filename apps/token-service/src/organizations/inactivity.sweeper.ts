import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Actor } from '@gatehouse/contracts';
import { CLOCK, type Clock } from '@gatehouse/nest-kit';
import { PoliciesService } from '../applications/policies.service.js';
import { ReusablePoliciesService } from '../applications/reusable-policies.service.js';
import { TOKEN_SERVICE_ENV, type TokenServiceEnv } from '../config/env.js';
import { TokensService } from '../tokens/tokens.service.js';
import { InactiveTokensRepository, type InactiveCandidate } from './inactive-tokens.repository.js';
import { OrganizationsRepository, type OrganizationStore } from './organizations.repository.js';

const DAY_MS = 86_400_000;
const BATCH = 200;
/** Who the audit log names for what the cleanup does. */
export const INACTIVITY_ACTOR: Actor = { type: 'system', id: 'service_token_inactivity' };

export interface InactivityDeps {
  orgs: Pick<OrganizationStore, 'withInactivityEnabled'>;
  inactive: Pick<InactiveTokensRepository, 'candidates'>;
  /** Is the token named directly by a policy rule? Such tokens are exempt (Cloudflare's rule). */
  namedByPolicy(accountId: string, tokenId: string): Promise<boolean>;
  retire(accountId: string, tokenId: string, cutoff: Date, action: 'disable' | 'delete', actor: Actor): Promise<boolean>;
  clock: Clock;
}

/** What the sweeper reads and does, from the service's repositories and services. */
@Injectable()
export class InactivitySources implements InactivityDeps {
  constructor(
    @Inject(OrganizationsRepository) readonly orgs: OrganizationStore,
    readonly inactive: InactiveTokensRepository,
    private readonly tokens: TokensService,
    private readonly policies: PoliciesService,
    private readonly reusable: ReusablePoliciesService,
    @Inject(CLOCK) readonly clock: Clock,
  ) {}

  /** Cloudflare's rule: a token a policy names directly is never cleaned up (app-scoped or reusable). */
  async namedByPolicy(accountId: string, tokenId: string): Promise<boolean> {
    return (await this.policies.usingToken(accountId, tokenId)).length > 0 || (await this.reusable.usingToken(accountId, tokenId)).length > 0;
  }

  retire(accountId: string, tokenId: string, cutoff: Date, action: 'disable' | 'delete', actor: Actor): Promise<boolean> {
    return this.tokens.retireInactive(accountId, tokenId, cutoff, action, actor);
  }
}

/**
 * Applies each organization's `service_token_inactivity`: tokens unused for the threshold are
 * disabled or deleted (each change audited with actor `system` and published). Runs every
 * `GATEHOUSE_INACTIVITY_SWEEP_INTERVAL_MS` (an hour by default, 0: never by itself); every token-service replica may run it (each token is re-checked under its row
 * lock, so two sweeps never act twice).
 */
@Injectable()
export class InactivitySweeper implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log = new Logger('InactivitySweeper');
  private timer?: NodeJS.Timeout;
  private running: Promise<{ disabled: number; deleted: number }> | null = null;

  private readonly intervalMs: number;

  constructor(
    @Inject(InactivitySources) private readonly d: InactivityDeps,
    @Inject(TOKEN_SERVICE_ENV) env: Pick<TokenServiceEnv, 'GATEHOUSE_INACTIVITY_SWEEP_INTERVAL_MS'>,
  ) {
    this.intervalMs = env.GATEHOUSE_INACTIVITY_SWEEP_INTERVAL_MS ?? 3_600_000;
  }

  onApplicationBootstrap(): void {
    if (this.intervalMs <= 0) return;
    this.timer = setInterval(() => void this.sweep().catch((e: Error) => this.log.warn(`Inactivity sweep failed: ${e.message}`)), this.intervalMs);
    this.timer.unref();
  }

  onApplicationShutdown(): Promise<unknown> | undefined {
    clearInterval(this.timer);
    return this.running?.catch(() => undefined);
  }

  /** One pass over every organization with the cleanup on; concurrent callers share it. */
  sweep(): Promise<{ disabled: number; deleted: number }> {
    this.running ??= this.pass().finally(() => (this.running = null));
    return this.running;
  }

  private async pass(): Promise<{ disabled: number; deleted: number }> {
    const result = { disabled: 0, deleted: 0 };
    for (const org of await this.d.orgs.withInactivityEnabled()) {
      const cutoff = new Date(this.d.clock.now().getTime() - org.inactivityThresholdDays * DAY_MS);
      const action = org.inactivityAction;
      // Oldest first, by keyset: each token is looked at once per pass (exempt, retired, or used meanwhile).
      let after: InactiveCandidate | undefined;
      for (;;) {
        const batch = await this.d.inactive.candidates(org.accountId, cutoff, action === 'disable', BATCH, after);
        if (!batch.length) break;
        after = batch[batch.length - 1];
        for (const t of batch) {
          if (await this.d.namedByPolicy(org.accountId, t.id)) continue;
          if (!(await this.d.retire(org.accountId, t.id, cutoff, action, INACTIVITY_ACTOR))) continue; // used or changed meanwhile
          if (action === 'delete') result.deleted++;
          else result.disabled++;
          this.log.log(`Service token ${t.id} (${t.name}) ${action === 'delete' ? 'deleted' : 'disabled'}: unused for ${org.inactivityThresholdDays} days`);
        }
      }
    }
    return result;
  }
}
