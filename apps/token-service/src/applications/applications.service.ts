import { randomBytes, randomUUID } from 'node:crypto';
import { DomainError, type Actor, type AppChanged, type Application, type CreateApplication, type Page, type UpdateApplication } from '@gatehouse/contracts';
import type { z } from 'zod';
import type { AccountsRepository } from '../accounts/accounts.repository.js';
import type { Ledger, Touched } from '../audit/ledger.js';
import type { Tx, UnitOfWork } from '../database/unit-of-work.js';
import type { Clock } from '../events/change-publisher.js';
import type { AppChangePublisher } from './app-change.publisher.js';
import { DEFAULT_SESSION_DURATION, toApplication, type ApplicationRecord } from './application.record.js';
import { DOMAIN_UNIQUE, isUniqueViolation, type AppStore, type PolicyStore } from './applications.repository.js';
import { requireAccount } from '../accounts/require-account.js';

type CreateRequest = z.infer<typeof CreateApplication.request>;
type UpdateRequest = z.infer<typeof UpdateApplication.request>;
type AppChangeKind = 'created' | 'updated' | 'deleted' | 'sessions_revoked';

export class ApplicationsService {
  constructor(
    private readonly uow: UnitOfWork,
    private readonly apps: AppStore,
    private readonly policies: PolicyStore,
    private readonly accounts: Pick<AccountsRepository, 'findById'>,
    private readonly ledger: Ledger,
    private readonly publisher: AppChangePublisher,
    private readonly clock: Clock,
  ) {}

  async create(req: CreateRequest): Promise<Application> {
    await requireAccount(this.accounts, req.accountId);
    const now = this.clock.now();
    const app: ApplicationRecord = {
      id: randomUUID(),
      accountId: req.accountId,
      name: req.name,
      domain: req.domain,
      type: 'self_hosted',
      sessionDuration: req.sessionDuration ?? DEFAULT_SESSION_DURATION,
      aud: randomBytes(32).toString('hex'),
      upstream: req.upstream ?? null,
      readServiceTokensFromHeader: req.readServiceTokensFromHeader ?? null,
      sessionsRevokedAt: null,
      createdAt: now,
      updatedAt: now,
    };
    const event = await this.write(req.domain, async (tx) => {
      await this.ensureDomainFree(app, tx);
      await this.apps.insert(app, tx);
      return this.record(tx, 'created', app, req.actor, { domain: app.domain });
    });
    await this.publisher.appChanged(event);
    return toApplication(app);
  }

  async get(accountId: string, appId: string): Promise<Application> {
    await requireAccount(this.accounts, accountId);
    const app = await this.apps.find(accountId, appId);
    if (!app) throw notFound(appId);
    return toApplication(app);
  }

  async list(accountId: string, page: number, perPage: number): Promise<Page<Application>> {
    await requireAccount(this.accounts, accountId);
    const { rows, total } = await this.apps.list(accountId, page, perPage);
    return { items: rows.map(toApplication), page, perPage, totalCount: total };
  }

  /** Omitted optional fields keep their value; `null` clears upstream / the single header. `aud` never changes. */
  async update(req: UpdateRequest): Promise<Application> {
    const app = await this.mutate(req.accountId, req.appId, 'updated', req.actor, req.domain, async (app, tx) => {
      const changes: Record<string, { from: unknown; to: unknown }> = {};
      const set = <K extends 'name' | 'domain' | 'sessionDuration' | 'upstream' | 'readServiceTokensFromHeader'>(key: K, value: ApplicationRecord[K] | undefined) => {
        if (value === undefined || value === app[key]) return;
        changes[key] = { from: app[key], to: value };
        app[key] = value;
      };
      set('name', req.name);
      set('domain', req.domain);
      set('sessionDuration', req.sessionDuration);
      set('upstream', req.upstream);
      set('readServiceTokensFromHeader', req.readServiceTokensFromHeader);
      if (changes.domain) await this.ensureDomainFree(app, tx);
      return changes;
    });
    return toApplication(app);
  }

  /** "Revoke existing sessions": JWTs for this app issued before now stop working. */
  async revokeSessions(accountId: string, appId: string, actor: Actor): Promise<Application> {
    const app = await this.mutate(accountId, appId, 'sessions_revoked', actor, undefined, async (app) => {
      const from = app.sessionsRevokedAt?.toISOString() ?? null;
      app.sessionsRevokedAt = this.clock.now();
      return { sessionsRevokedAt: { from, to: app.sessionsRevokedAt.toISOString() } };
    });
    return toApplication(app);
  }

  /**
   * Deletes the app and its policies in one transaction with one revision: the `deleted` app event
   * implies its policies are gone (see apps.ts). Each policy is still audited.
   */
  async delete(accountId: string, appId: string, actor: Actor): Promise<Application> {
    await requireAccount(this.accounts, accountId);
    const { app, event } = await this.uow.run(async (tx) => {
      const app = await this.apps.findForUpdate(accountId, appId, tx);
      if (!app) throw notFound(appId);
      const removed = await this.policies.removeForApp(accountId, appId, tx);
      await this.apps.remove(accountId, appId, tx);
      const gone = removed.map((p) => ({ entity: 'policy' as const, id: p.id, deleted: true }));
      const event = await this.record(tx, 'deleted', app, actor, { domain: app.domain, policiesDeleted: removed.map((p) => p.id) }, gone);
      for (const policy of removed) {
        await this.ledger.append(tx, {
          accountId,
          action: 'access_policy.deleted',
          actor,
          resourceType: 'access_policy',
          resourceId: policy.id,
          resourceName: policy.name,
          occurredAt: new Date(event.occurredAt),
          metadata: { appId, appName: app.name, cause: 'access_app.deleted' },
        });
      }
      return { app, event };
    });
    await this.publisher.appChanged(event);
    return toApplication(app);
  }

  /** Loads with a row lock, applies `edit`, saves, audits and announces, all in one transaction. */
  private async mutate(
    accountId: string,
    appId: string,
    kind: AppChangeKind,
    actor: Actor,
    domain: string | undefined,
    edit: (app: ApplicationRecord, tx: Tx) => Promise<Record<string, unknown>>,
  ): Promise<ApplicationRecord> {
    await requireAccount(this.accounts, accountId);
    const { app, event } = await this.write(domain, async (tx) => {
      const app = await this.apps.findForUpdate(accountId, appId, tx);
      if (!app) throw notFound(appId);
      const metadata = await edit(app, tx);
      app.updatedAt = this.clock.now();
      await this.apps.update(app, tx);
      return { app, event: await this.record(tx, kind, app, actor, metadata) };
    });
    await this.publisher.appChanged(event);
    return app;
  }

  /** A transaction whose unique-domain race (two creates at once) ends as CONFLICT, not INTERNAL. */
  private async write<T>(domain: string | undefined, fn: (tx: Tx) => Promise<T>): Promise<T> {
    try {
      return await this.uow.run(fn);
    } catch (error) {
      if (isUniqueViolation(error, DOMAIN_UNIQUE)) throw conflict(domain ?? '');
      throw error;
    }
  }

  private async ensureDomainFree(app: ApplicationRecord, tx: Tx): Promise<void> {
    const other = await this.apps.findByDomainAnyAccount(app.domain, tx);
    if (other && other.id !== app.id) throw conflict(app.domain);
  }

  private async record(tx: Tx, kind: AppChangeKind, app: ApplicationRecord, actor: Actor, metadata: Record<string, unknown>, also: Touched[] = []): Promise<AppChanged> {
    const revision = await this.ledger.bumpRevision(tx, [{ entity: 'app', id: app.id, deleted: kind === 'deleted' }, ...also]);
    const occurredAt = this.clock.now();
    await this.ledger.append(tx, {
      accountId: app.accountId,
      action: `access_app.${kind}`,
      actor,
      resourceType: 'access_app',
      resourceId: app.id,
      resourceName: app.name,
      occurredAt,
      metadata,
    });
    return { kind: kind === 'deleted' ? 'deleted' : 'upserted', revision, occurredAt: occurredAt.toISOString(), app: toApplication(app) };
  }

}

function notFound(appId: string): DomainError {
  return new DomainError('NOT_FOUND', `Access application ${appId} not found`);
}

function conflict(domain: string): DomainError {
  return new DomainError('CONFLICT', `domain: another application already uses "${domain}"`, [
    { path: 'domain', message: `already used by another application: "${domain}"` },
  ]);
}
