import { Inject, Injectable } from '@nestjs/common';
import { randomBytes, randomUUID } from 'node:crypto';
import { DomainError, type Actor, type AppChanged, type Application, type CreateApplication, type Page, type UpdateApplication } from '@gatehouse/contracts';
import type { z } from 'zod';
import { AccountsRepository } from '../accounts/accounts.repository.js';
import { AuditRepository } from '../audit/audit.repository.js';
import type { Ledger, Touched } from '../audit/ledger.js';
import { UNIT_OF_WORK, type Tx, type UnitOfWork } from '../database/unit-of-work.js';
import { CLOCK, type Clock } from '@gatehouse/nest-kit';
import { NatsAppChangePublisher, type AppChangePublisher } from './app-change.publisher.js';
import { DEFAULT_SESSION_DURATION, toApplication, type LinkedApplicationRecord } from './application.record.js';
import { ApplicationsRepository, DOMAIN_UNIQUE, PoliciesRepository, isUniqueViolation, type AppStore, type PolicyStore } from './applications.repository.js';
import { requireAccount } from '../accounts/require-account.js';
import { ReusablePoliciesRepository, type ReusablePolicyStore } from './reusable-policies.repository.js';

type CreateRequest = z.infer<typeof CreateApplication.request>;
type UpdateRequest = z.infer<typeof UpdateApplication.request>;
type AppChangeKind = 'created' | 'updated' | 'deleted' | 'sessions_revoked';
type LinkRequest = NonNullable<CreateRequest['policies']>;
/** Fields an update replaces when given. */
const SETTABLE = [
  'name',
  'domain',
  'sessionDuration',
  'upstream',
  'readServiceTokensFromHeader',
  'httpOnlyCookieAttribute',
  'sameSiteCookieAttribute',
  'pathCookieAttribute',
  'serviceAuth401Redirect',
  'tags',
  'appLauncherVisible',
] as const;

@Injectable()
export class ApplicationsService {
  constructor(
    @Inject(UNIT_OF_WORK) private readonly uow: UnitOfWork,
    @Inject(ApplicationsRepository) private readonly apps: AppStore,
    @Inject(PoliciesRepository) private readonly policies: PolicyStore,
    @Inject(ReusablePoliciesRepository) private readonly reusable: Pick<ReusablePolicyStore, 'lockExisting'>,
    @Inject(AccountsRepository) private readonly accounts: Pick<AccountsRepository, 'findById'>,
    @Inject(AuditRepository) private readonly ledger: Ledger,
    @Inject(NatsAppChangePublisher) private readonly publisher: AppChangePublisher,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async create(req: CreateRequest): Promise<Application> {
    await requireAccount(this.accounts, req.accountId);
    const now = this.clock.now();
    const app: LinkedApplicationRecord = {
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
      httpOnlyCookieAttribute: req.httpOnlyCookieAttribute ?? true,
      sameSiteCookieAttribute: req.sameSiteCookieAttribute ?? null,
      pathCookieAttribute: req.pathCookieAttribute ?? false,
      serviceAuth401Redirect: req.serviceAuth401Redirect ?? false,
      tags: req.tags ?? [],
      appLauncherVisible: req.appLauncherVisible ?? true,
      linkedPolicies: [],
      createdAt: now,
      updatedAt: now,
    };
    const event = await this.write(req.domain, async (tx) => {
      await this.apps.lockAccount(app.accountId, tx);
      await this.ensureDomainFree(app, tx);
      await this.apps.insert(app, tx);
      const metadata: Record<string, unknown> = { domain: app.domain };
      if (req.policies?.length) {
        await this.link(app, req.policies, tx);
        metadata.policies = req.policies;
      }
      return this.record(tx, 'created', app, req.actor, metadata);
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

  /**
   * Omitted optional fields keep their value; `null` clears upstream / the single header / SameSite.
   * `policies` replaces the links (`[]` unlinks all). `aud` never changes.
   */
  async update(req: UpdateRequest): Promise<Application> {
    const app = await this.mutate(req.accountId, req.appId, 'updated', req.actor, req.domain, async (app, tx) => {
      const changes: Record<string, { from: unknown; to: unknown }> = {};
      for (const key of SETTABLE) {
        const value = req[key];
        if (value === undefined || JSON.stringify(value) === JSON.stringify(app[key])) continue;
        changes[key] = { from: app[key], to: value };
        (app as unknown as Record<string, unknown>)[key] = value;
      }
      if (req.policies !== undefined) {
        const from = app.linkedPolicies.map((p) => ({ id: p.id, precedence: p.precedence }));
        if (JSON.stringify(from) !== JSON.stringify(req.policies)) {
          await this.link(app, req.policies, tx);
          changes.policies = { from, to: req.policies };
        }
      }
      if (changes.domain) await this.ensureDomainFree(app, tx);
      return changes;
    });
    return toApplication(app);
  }

  /** "Revoke existing sessions": JWTs for this app issued before now stop working. */
  async revokeSessions(accountId: string, appId: string, actor: Actor): Promise<Application> {
    const app = await this.mutate(accountId, appId, 'sessions_revoked', actor, undefined, (app) => {
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
      await this.apps.lockAccount(accountId, tx);
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
    edit: (app: LinkedApplicationRecord, tx: Tx) => Record<string, unknown> | Promise<Record<string, unknown>>,
  ): Promise<LinkedApplicationRecord> {
    await requireAccount(this.accounts, accountId);
    const { app, event } = await this.write(domain, async (tx) => {
      await this.apps.lockAccount(accountId, tx);
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

  /**
   * Replaces the app's links: ids unique, precedences unique, each a reusable policy of the
   * account (share-locked until commit, so it cannot be deleted meanwhile); never beside
   * app-scoped policies.
   */
  private async link(app: LinkedApplicationRecord, links: LinkRequest, tx: Tx): Promise<void> {
    const issues: Array<{ path: string; message: string }> = [];
    const seenIds = new Map<string, number>();
    const seenPrecedence = new Map<number, number>();
    links.forEach((l, i) => {
      if (seenIds.has(l.id)) issues.push({ path: `policies.${i}.id`, message: `links policy ${l.id} twice (also policies.${seenIds.get(l.id)})` });
      else seenIds.set(l.id, i);
      if (seenPrecedence.has(l.precedence))
        issues.push({ path: `policies.${i}.precedence`, message: `must be unique within the application (also policies.${seenPrecedence.get(l.precedence)})` });
      else seenPrecedence.set(l.precedence, i);
    });
    if (!issues.length && links.length) {
      const found = await this.reusable.lockExisting(
        app.accountId,
        links.map((l) => l.id),
        tx,
      );
      links.forEach((l, i) => {
        if (!found.has(l.id)) issues.push({ path: `policies.${i}.id`, message: `names no reusable policy of this account (${l.id})` });
      });
      if (!issues.length && (await this.policies.listForApp(app.accountId, app.id, tx)).length) {
        issues.push({
          path: 'policies',
          message: 'the application has app-scoped policies: linked (reusable) and app-scoped policies cannot be mixed; delete those first',
        });
      }
    }
    if (issues.length) {
      throw new DomainError('VALIDATION_FAILED', `Invalid policies: ${issues.map((d) => `${d.path}: ${d.message}`).join('; ')}`, issues);
    }
    await this.apps.replaceLinks(
      app.id,
      links.map((l) => ({ policyId: l.id, precedence: l.precedence })),
      tx,
    );
    const reread = await this.apps.find(app.accountId, app.id, tx);
    app.linkedPolicies = reread?.linkedPolicies ?? [];
  }

  private async ensureDomainFree(app: LinkedApplicationRecord, tx: Tx): Promise<void> {
    const other = await this.apps.findByDomainAnyAccount(app.domain, tx);
    if (other && other.id !== app.id) throw conflict(app.domain);
  }

  private async record(
    tx: Tx,
    kind: AppChangeKind,
    app: LinkedApplicationRecord,
    actor: Actor,
    metadata: Record<string, unknown>,
    also: Touched[] = [],
  ): Promise<AppChanged> {
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
