import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { managerOf, type Tx } from '../database/unit-of-work.js';
import { ServiceTokenEntity } from '../tokens/token.entity.js';
import { ApplicationEntity } from './application.entity.js';
import type { ApplicationRecord, LinkedApplicationRecord, LinkedPolicyRecord, PolicyRecord } from './application.record.js';
import { PolicyEntity } from './policy.entity.js';
import { AppPolicyLinkEntity } from './reusable-policy.entity.js';

/** True when `error` is PostgreSQL's unique violation on `constraint`. */
export function isUniqueViolation(error: unknown, constraint: string): boolean {
  const e = error as { code?: string; constraint?: string; driverError?: { code?: string; constraint?: string } };
  const inner = e?.driverError ?? e;
  return inner?.code === '23505' && inner?.constraint === constraint;
}
export const DOMAIN_UNIQUE = 'access_apps_domain';

export interface AppStore {
  find(accountId: string, appId: string, tx?: Tx): Promise<LinkedApplicationRecord | null>;
  findForUpdate(accountId: string, appId: string, tx: Tx): Promise<LinkedApplicationRecord | null>;
  /** Domains are unique across all accounts: the gateway routes by Host, so one host has one owner. */
  findByDomainAnyAccount(domain: string, tx: Tx): Promise<ApplicationRecord | null>;
  list(accountId: string, page: number, perPage: number): Promise<{ rows: LinkedApplicationRecord[]; total: number }>;
  insert(app: ApplicationRecord, tx: Tx): Promise<void>;
  update(app: ApplicationRecord, tx: Tx): Promise<void>;
  remove(accountId: string, appId: string, tx: Tx): Promise<void>;
  /**
   * Serialises, per account, every write that touches apps or reusable policies (a transaction
   * lock, taken first): a reusable policy's change re-announces each app linking it, and must see
   * each app's latest state; one lock order (account, then apps, then policies) cannot deadlock.
   */
  lockAccount(accountId: string, tx: Tx): Promise<void>;
  /** The app's links to reusable policies are replaced by `links` (ids already checked). */
  replaceLinks(appId: string, links: Array<{ policyId: string; precedence: number }>, tx: Tx): Promise<void>;
}

@Injectable()
export class ApplicationsRepository implements AppStore {
  constructor(private readonly dataSource: DataSource) {}

  async find(accountId: string, appId: string, tx?: Tx): Promise<LinkedApplicationRecord | null> {
    const row = await managerOf(this.dataSource, tx).findOneBy(ApplicationEntity, { accountId, id: appId });
    return row && (await this.withLinks([row], tx))[0]!;
  }

  /** Locks the app's row: every change to an app or its policies is serialised on it. */
  async findForUpdate(accountId: string, appId: string, tx: Tx): Promise<LinkedApplicationRecord | null> {
    const row = await managerOf(this.dataSource, tx)
      .createQueryBuilder(ApplicationEntity, 'a')
      .setLock('pessimistic_write')
      .where('a.account_id = :accountId AND a.id = :appId', { accountId, appId })
      .getOne();
    return row && (await this.withLinks([row], tx))[0]!;
  }

  findByDomainAnyAccount(domain: string, tx: Tx): Promise<ApplicationRecord | null> {
    return managerOf(this.dataSource, tx).findOneBy(ApplicationEntity, { domain });
  }

  async list(accountId: string, page: number, perPage: number) {
    const [rows, total] = await this.dataSource.manager
      .createQueryBuilder(ApplicationEntity, 'a')
      .where('a.account_id = :accountId', { accountId })
      .orderBy('a.created_at', 'DESC')
      .addOrderBy('a.id', 'DESC')
      .skip((page - 1) * perPage)
      .take(perPage)
      .getManyAndCount();
    return { rows: await this.withLinks(rows), total };
  }

  async insert(app: ApplicationRecord, tx: Tx): Promise<void> {
    await managerOf(this.dataSource, tx).insert(ApplicationEntity, appColumns(app));
  }

  async update(app: ApplicationRecord, tx: Tx): Promise<void> {
    const { id, accountId, aud: _aud, createdAt: _createdAt, ...fields } = appColumns(app);
    await managerOf(this.dataSource, tx).update(ApplicationEntity, { id, accountId }, fields);
  }

  async remove(accountId: string, appId: string, tx: Tx): Promise<void> {
    await managerOf(this.dataSource, tx).delete(ApplicationEntity, { accountId, id: appId });
  }

  async lockAccount(accountId: string, tx: Tx): Promise<void> {
    await managerOf(this.dataSource, tx).query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, [`access_apps:${accountId}`]);
  }

  async replaceLinks(appId: string, links: Array<{ policyId: string; precedence: number }>, tx: Tx): Promise<void> {
    const m = managerOf(this.dataSource, tx);
    await m.delete(AppPolicyLinkEntity, { appId });
    if (links.length)
      await m.insert(
        AppPolicyLinkEntity,
        links.map((l) => ({ appId, policyId: l.policyId, precedence: l.precedence })),
      );
  }

  /** Attaches each app's linked reusable policies (one query), in precedence order. */
  private async withLinks(rows: ApplicationEntity[], tx?: Tx): Promise<LinkedApplicationRecord[]> {
    const byApp = new Map<string, LinkedPolicyRecord[]>();
    if (rows.length) {
      const links = await managerOf(this.dataSource, tx)
        .createQueryBuilder(AppPolicyLinkEntity, 'l')
        .innerJoinAndSelect('l.policy', 'p')
        .where('l.app_id IN (:...ids)', { ids: rows.map((r) => r.id) })
        .orderBy('l.precedence', 'ASC')
        .addOrderBy('p.created_at', 'ASC')
        .addOrderBy('p.id', 'ASC')
        .getMany();
      for (const l of links) {
        const list = byApp.get(l.appId) ?? [];
        // eslint-disable-next-line @typescript-eslint/no-misused-spread -- an entity's columns into a plain record, on purpose
        list.push({ ...l.policy!, precedence: l.precedence });
        byApp.set(l.appId, list);
      }
    }
    // eslint-disable-next-line @typescript-eslint/no-misused-spread -- an entity's columns into a plain record, on purpose
    return rows.map((r) => ({ ...r, linkedPolicies: byApp.get(r.id) ?? [] }));
  }
}

export interface PolicyStore {
  find(accountId: string, appId: string, policyId: string, tx?: Tx): Promise<PolicyRecord | null>;
  listForApp(accountId: string, appId: string, tx?: Tx): Promise<PolicyRecord[]>;
  maxPrecedence(appId: string, tx: Tx): Promise<number>;
  insert(policy: PolicyRecord, tx: Tx): Promise<void>;
  update(policy: PolicyRecord, tx: Tx): Promise<void>;
  remove(accountId: string, policyId: string, tx: Tx): Promise<void>;
  removeForApp(accountId: string, appId: string, tx: Tx): Promise<PolicyRecord[]>;
  usingToken(accountId: string, tokenId: string): Promise<Array<PolicyRecord & { appName: string }>>;
  existingTokenIds(accountId: string, tokenIds: string[], tx: Tx): Promise<Set<string>>;
  tokenExists(accountId: string, tokenId: string): Promise<boolean>;
}

const strip = ({ app: _app, ...p }: PolicyEntity): PolicyRecord => p;
/** The stored columns of an app (a read record also carries its links). */
function appColumns(app: ApplicationRecord): ApplicationRecord {
  const { linkedPolicies: _links, ...columns } = app as LinkedApplicationRecord;
  return columns;
}

@Injectable()
export class PoliciesRepository implements PolicyStore {
  constructor(private readonly dataSource: DataSource) {}

  async find(accountId: string, appId: string, policyId: string, tx?: Tx): Promise<PolicyRecord | null> {
    const row = await managerOf(this.dataSource, tx).findOneBy(PolicyEntity, { accountId, appId, id: policyId });
    return row && strip(row);
  }

  async listForApp(accountId: string, appId: string, tx?: Tx): Promise<PolicyRecord[]> {
    const rows = await managerOf(this.dataSource, tx).find(PolicyEntity, {
      where: { accountId, appId },
      order: { precedence: 'ASC', createdAt: 'ASC', id: 'ASC' },
    });
    return rows.map(strip);
  }

  async maxPrecedence(appId: string, tx: Tx): Promise<number> {
    const row: { max: number | null } | undefined = await managerOf(this.dataSource, tx)
      .createQueryBuilder(PolicyEntity, 'p')
      .select('MAX(p.precedence)', 'max')
      .where('p.app_id = :appId', { appId })
      .getRawOne();
    return Number(row?.max ?? 0);
  }

  async insert(policy: PolicyRecord, tx: Tx): Promise<void> {
    await managerOf(this.dataSource, tx).insert(PolicyEntity, policy);
  }

  async update(policy: PolicyRecord, tx: Tx): Promise<void> {
    const { id, accountId, appId, createdAt: _createdAt, ...fields } = policy;
    await managerOf(this.dataSource, tx).update(PolicyEntity, { id, accountId, appId }, fields);
  }

  async remove(accountId: string, policyId: string, tx: Tx): Promise<void> {
    await managerOf(this.dataSource, tx).delete(PolicyEntity, { accountId, id: policyId });
  }

  async removeForApp(accountId: string, appId: string, tx: Tx): Promise<PolicyRecord[]> {
    const rows = await this.listForApp(accountId, appId, tx);
    if (rows.length) await managerOf(this.dataSource, tx).delete(PolicyEntity, { accountId, appId });
    return rows;
  }

  /** Policies of the account with a rule naming the token (in include, require or exclude). */
  async usingToken(accountId: string, tokenId: string) {
    const needle = JSON.stringify([{ serviceToken: { tokenId } }]);
    const rows = await this.dataSource.manager
      .createQueryBuilder(PolicyEntity, 'p')
      .innerJoinAndSelect('p.app', 'a')
      .where('p.account_id = :accountId', { accountId })
      .andWhere('(p.include_rules @> CAST(:needle AS jsonb) OR p.require_rules @> CAST(:needle AS jsonb) OR p.exclude_rules @> CAST(:needle AS jsonb))', {
        needle,
      })
      .orderBy('a.name', 'ASC')
      .addOrderBy('p.precedence', 'ASC')
      .addOrderBy('p.created_at', 'ASC')
      .addOrderBy('p.id', 'ASC')
      .getMany();
    return rows.map((row) => ({ ...strip(row), appName: row.app!.name }));
  }

  async existingTokenIds(accountId: string, tokenIds: string[], tx: Tx): Promise<Set<string>> {
    if (!tokenIds.length) return new Set();
    const rows = await managerOf(this.dataSource, tx)
      .createQueryBuilder(ServiceTokenEntity, 't')
      .select('t.id', 'id')
      .where('t.account_id = :accountId AND t.id IN (:...ids)', { accountId, ids: [...new Set(tokenIds)] })
      .getRawMany<{ id: string }>();
    return new Set(rows.map((r) => r.id));
  }

  async tokenExists(accountId: string, tokenId: string): Promise<boolean> {
    return this.dataSource.manager.existsBy(ServiceTokenEntity, { accountId, id: tokenId });
  }
}
