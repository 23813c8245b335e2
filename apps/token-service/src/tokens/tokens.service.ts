import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import {
  DEFAULT_DURATION,
  DomainError,
  expiryFrom,
  generateClientId,
  generateClientSecret,
  hashClientSecret,
  type Actor,
  type Page,
  type RequestOf,
  type ServiceToken,
  type ServiceTokenWithSecret,
  type TokenChangeKind,
  type UpdateServiceToken,
} from '@gatehouse/contracts';
import { AccountsRepository } from '../accounts/accounts.repository.js';
import { AuditRepository } from '../audit/audit.repository.js';
import type { Ledger } from '../audit/ledger.js';
import { UNIT_OF_WORK, type Tx, type UnitOfWork } from '../database/unit-of-work.js';
import { CLOCK, type Clock } from '@gatehouse/nest-kit';
import { CHANGE_PUBLISHER, type ChangePublisher } from '../events/change-publisher.js';
import { TOKEN_SERVICE_ENV, type TokenServiceEnv } from '../config/env.js';
import { TokensRepository, type TokenFilter, type TokenStore } from './tokens.repository.js';
import { toServiceToken, toVerifierToken, type TokenRecord } from './token.record.js';
import { requireAccount } from '../accounts/require-account.js';

type UpdateRequest = RequestOf<typeof UpdateServiceToken>;

@Injectable()
export class TokensService {
  constructor(
    @Inject(UNIT_OF_WORK) private readonly uow: UnitOfWork,
    @Inject(TokensRepository) private readonly tokens: TokenStore,
    @Inject(AccountsRepository) private readonly accounts: Pick<AccountsRepository, 'findById'>,
    @Inject(AuditRepository) private readonly ledger: Ledger,
    @Inject(CHANGE_PUBLISHER) private readonly publisher: ChangePublisher,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(TOKEN_SERVICE_ENV) private readonly config: Pick<TokenServiceEnv, 'GATEHOUSE_HASH_KEY'>,
  ) {}

  async create(accountId: string, name: string, duration: string | undefined, actor: Actor, enabled = true): Promise<ServiceTokenWithSecret> {
    await requireAccount(this.accounts, accountId);
    const now = this.clock.now();
    const lifetime = duration ?? DEFAULT_DURATION;
    const secret = generateClientSecret();
    const token: TokenRecord = {
      id: randomUUID(),
      accountId,
      name,
      clientId: generateClientId(),
      duration: lifetime,
      secretHash: hashClientSecret(this.config.GATEHOUSE_HASH_KEY, secret),
      clientSecretVersion: 1,
      previousSecretHash: null,
      previousSecretExpiresAt: null,
      enabled,
      expiresAt: expiryFrom(now, lifetime),
      lastSeenAt: null,
      createdAt: now,
      updatedAt: now,
    };
    const event = await this.uow.run(async (tx) => {
      await this.audit(tx, 'created', token, actor, { duration: lifetime, expiresAt: token.expiresAt?.toISOString() ?? null }, now);
      // Last before the commit: the insert takes the change's revision, whose lock is held until then.
      const revision = await this.tokens.insert(token, tx);
      return this.eventOf('created', revision, token, actor, now);
    });
    await this.publisher.tokenChanged(event);
    return { ...toServiceToken(token), clientSecret: secret };
  }

  async get(accountId: string, tokenId: string): Promise<ServiceToken> {
    return toServiceToken(await this.require(accountId, tokenId));
  }

  async list(accountId: string, filter: TokenFilter, page: number, perPage: number): Promise<Page<ServiceToken> & { totalCountExact: boolean }> {
    await requireAccount(this.accounts, accountId);
    const { rows, total, exact } = await this.tokens.list(accountId, filter, page, perPage);
    return { items: rows.map(toServiceToken), page, perPage, totalCount: total, totalCountExact: exact };
  }

  /** `clientSecretVersion` above the current one rotates (the response then carries the new secret). */
  async update(req: UpdateRequest): Promise<ServiceToken & { clientSecret?: string }> {
    const rotates = (t: TokenRecord) => req.clientSecretVersion !== undefined && req.clientSecretVersion > t.clientSecretVersion;
    let secret: string | undefined;
    const updated = await this.mutate(
      req.accountId,
      req.tokenId,
      (t) => (rotates(t) ? 'rotated' : 'updated'),
      req.actor,
      (token, now) => {
        const changes: Record<string, unknown> = {};
        if (req.clientSecretVersion !== undefined && req.clientSecretVersion < token.clientSecretVersion) {
          throw new DomainError(
            'VALIDATION_FAILED',
            `client_secret_version: must not be lower than the current version ${token.clientSecretVersion} (a greater one rotates the secret)`,
            [{ path: 'clientSecretVersion', message: `lower than the current version ${token.clientSecretVersion}` }],
          );
        }
        if (req.name !== undefined && req.name !== token.name) {
          changes.name = { from: token.name, to: req.name };
          token.name = req.name;
        }
        if (req.duration !== undefined && req.duration !== token.duration) {
          // A new duration counts from now, as a refresh with that duration would.
          changes.duration = { from: token.duration, to: req.duration };
          token.duration = req.duration;
          token.expiresAt = expiryFrom(now, req.duration);
        }
        if (req.enabled !== undefined && req.enabled !== token.enabled) {
          changes.enabled = { from: token.enabled, to: req.enabled };
          token.enabled = req.enabled;
        }
        if (rotates(token)) {
          secret = generateClientSecret();
          const grace = req.previousClientSecretExpiresAt ? new Date(req.previousClientSecretExpiresAt) : now;
          Object.assign(changes, this.rotateSecret(token, secret, req.clientSecretVersion!, grace, now));
        } else if (req.previousClientSecretExpiresAt !== undefined) {
          if (!token.previousSecretHash) {
            throw new DomainError('VALIDATION_FAILED', 'previous_client_secret_expires_at: this token has no previous secret (rotate it first)', [
              { path: 'previousClientSecretExpiresAt', message: 'no previous secret to keep' },
            ]);
          }
          const until = req.previousClientSecretExpiresAt === null ? now : new Date(req.previousClientSecretExpiresAt);
          changes.previousClientSecretExpiresAt = { from: token.previousSecretExpiresAt?.toISOString() ?? null, to: until.toISOString() };
          this.setGrace(token, until, now);
        }
        return changes;
      },
    );
    return secret === undefined ? toServiceToken(updated) : { ...toServiceToken(updated), clientSecret: secret };
  }

  async refresh(accountId: string, tokenId: string, actor: Actor): Promise<ServiceToken> {
    const token = await this.mutate(accountId, tokenId, 'refreshed', actor, (t, now) => {
      const from = t.expiresAt?.toISOString() ?? null;
      t.expiresAt = expiryFrom(now, t.duration);
      return { expiresAt: { from, to: t.expiresAt?.toISOString() ?? null } };
    });
    return toServiceToken(token);
  }

  async rotate(accountId: string, tokenId: string, previousExpiresAt: string | undefined, actor: Actor): Promise<ServiceTokenWithSecret> {
    const secret = generateClientSecret();
    const token = await this.mutate(accountId, tokenId, 'rotated', actor, (t, now) =>
      this.rotateSecret(t, secret, t.clientSecretVersion + 1, previousExpiresAt ? new Date(previousExpiresAt) : now, now),
    );
    return { ...toServiceToken(token), clientSecret: secret };
  }

  async delete(accountId: string, tokenId: string, actor: Actor): Promise<ServiceToken> {
    const token = await this.mutate(
      accountId,
      tokenId,
      'deleted',
      actor,
      () => ({}),
      async (t, tx) => {
        await this.tokens.remove(accountId, t.id, tx);
      },
    );
    return toServiceToken(token);
  }

  /**
   * Inactivity cleanup (the organization's `service_token_inactivity`): disables or deletes the
   * token if, under its row lock, it is still unused since `cutoff` (last_seen_at, else
   * created_at; and still enabled, for `disable`). Returns false when it no longer qualifies.
   * Audited and published like any change (kind `updated` or `deleted`).
   */
  async retireInactive(accountId: string, tokenId: string, cutoff: Date, action: 'disable' | 'delete', actor: Actor): Promise<boolean> {
    const stillInactive = (t: TokenRecord) => (t.lastSeenAt ?? t.createdAt).getTime() < cutoff.getTime() && (action === 'delete' || t.enabled);
    const inactivity = (t: TokenRecord) => ({ inactiveSince: (t.lastSeenAt ?? t.createdAt).toISOString(), cause: 'service_token_inactivity' });
    try {
      if (action === 'delete') {
        await this.mutate(
          accountId,
          tokenId,
          'deleted',
          actor,
          (t) => (stillInactive(t) ? inactivity(t) : skip()),
          (t, tx) => this.tokens.remove(accountId, t.id, tx),
        );
      } else {
        await this.mutate(accountId, tokenId, 'updated', actor, (t) => {
          if (!stillInactive(t)) return skip();
          t.enabled = false;
          return { enabled: { from: true, to: false }, ...inactivity(t) };
        });
      }
      return true;
    } catch (error) {
      if (error instanceof NoLongerInactive || (error instanceof DomainError && error.code === 'NOT_FOUND')) return false;
      throw error;
    }
  }

  async markSeen(seen: Array<{ tokenId: string; at: string }>): Promise<number> {
    const now = this.clock.now().getTime();
    // A sighting from the future is a clock problem at the gateway; clamp it to now.
    return this.tokens.markSeen(seen.map((s) => ({ tokenId: s.tokenId, at: new Date(Math.min(Date.parse(s.at), now)) })));
  }

  /** The current secret becomes the previous one (accepted until `grace`); `secret` becomes current at `version`. */
  private rotateSecret(t: TokenRecord, secret: string, version: number, grace: Date, now: Date): Record<string, unknown> {
    t.previousSecretHash = t.secretHash;
    this.setGrace(t, grace, now);
    t.secretHash = hashClientSecret(this.config.GATEHOUSE_HASH_KEY, secret);
    t.clientSecretVersion = version;
    return {
      clientSecretVersion: t.clientSecretVersion,
      previousClientSecretExpiresAt: t.previousSecretExpiresAt?.toISOString() ?? null,
    };
  }

  /** A grace end at or before now means the previous secret dies at once. */
  private setGrace(token: TokenRecord, until: Date, now: Date): void {
    if (until.getTime() <= now.getTime()) {
      token.previousSecretHash = null;
      token.previousSecretExpiresAt = null;
    } else {
      token.previousSecretExpiresAt = until;
    }
  }

  /** Loads with a row lock, applies `edit`, saves, audits and announces, all in one transaction. */
  private async mutate(
    accountId: string,
    tokenId: string,
    kind: TokenChangeKind | ((token: TokenRecord) => TokenChangeKind),
    actor: Actor,
    edit: (token: TokenRecord, now: Date) => Record<string, unknown>,
    persist?: (token: TokenRecord, tx: Tx) => Promise<void>,
  ): Promise<TokenRecord> {
    const { token, event } = await this.uow.run(async (tx) => {
      const token = await this.tokens.findForUpdate(accountId, tokenId, tx);
      if (!token) throw this.notFound(tokenId);
      const now = this.clock.now();
      const changeKind = typeof kind === 'function' ? kind(token) : kind;
      const metadata = edit(token, now);
      token.updatedAt = now;
      if (persist) await persist(token, tx);
      else await this.tokens.update(token, tx);
      const event = await this.record(tx, changeKind, token, actor, metadata, now);
      return { token, event };
    });
    await this.publisher.tokenChanged(event);
    return token;
  }

  private async record(tx: Tx, kind: TokenChangeKind, token: TokenRecord, actor: Actor, metadata: Record<string, unknown>, occurredAt: Date) {
    await this.audit(tx, kind, token, actor, metadata, occurredAt);
    // Last before the commit: the row locks it takes are held until then.
    const revision = await this.ledger.bumpRevision(tx, [{ entity: 'token', id: token.id, deleted: kind === 'deleted' }]);
    return this.eventOf(kind, revision, token, actor, occurredAt);
  }

  private eventOf(kind: TokenChangeKind, revision: number, token: TokenRecord, actor: Actor, occurredAt: Date) {
    return { kind, revision, occurredAt: occurredAt.toISOString(), actor, token: toVerifierToken(token) };
  }

  private async audit(tx: Tx, kind: TokenChangeKind, token: TokenRecord, actor: Actor, metadata: Record<string, unknown>, occurredAt: Date) {
    await this.ledger.append(tx, {
      accountId: token.accountId,
      action: `service_token.${kind}`,
      actor,
      resourceType: 'service_token',
      resourceId: token.id,
      resourceName: token.name,
      occurredAt,
      metadata: { clientId: token.clientId, ...metadata },
    });
  }

  private async require(accountId: string, tokenId: string): Promise<TokenRecord> {
    await requireAccount(this.accounts, accountId);
    const token = await this.tokens.find(accountId, tokenId);
    if (!token) throw this.notFound(tokenId);
    return token;
  }

  private notFound(tokenId: string): DomainError {
    return new DomainError('NOT_FOUND', `Service token ${tokenId} not found`);
  }
}

/** Thrown inside a transaction to leave a token untouched (rolls back; nothing is recorded). */
class NoLongerInactive extends Error {}
function skip(): never {
  throw new NoLongerInactive();
}
