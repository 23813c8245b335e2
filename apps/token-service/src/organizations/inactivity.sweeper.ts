import { Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Actor } from '@gatehouse/contracts';
import type { Clock } from '../events/change-publisher.js';
import type { InactiveCandidate, InactiveTokensRepository } from './inactive-tokens.repository.js';
import type { OrganizationStore } from './organizations.repository.js';

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

/**
 * Applies each organization's `service_token_inactivity`: tokens unused for the threshold are
 * disabled or deleted (each change audited with actor `system` and published). Runs every
 * `intervalMs`; every token-service replica may run it (each token is re-checked under its row
 * lock, so two sweeps never act twice).
 */
export class InactivitySweeper implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log = new Logger('InactivitySweeper');
  private timer?: NodeJS.Timeout;
  private running: Promise<{ disabled: number; deleted: number }> | null = null;

  constructor(
    private readonly d: InactivityDeps,
    private readonly intervalMs: number,
  ) {}

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
