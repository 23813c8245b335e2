import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { managerOf, type Tx } from '../database/unit-of-work.js';
import { ApplicationEntity } from './application.entity.js';
import type { PolicyUser, ReusablePolicyRecord } from './application.record.js';
import { AppPolicyLinkEntity, ReusablePolicyEntity } from './reusable-policy.entity.js';

export interface ReusablePolicyStore {
  find(accountId: string, policyId: string, tx?: Tx): Promise<ReusablePolicyRecord | null>;
  findForUpdate(accountId: string, policyId: string, tx: Tx): Promise<ReusablePolicyRecord | null>;
  /** Share-locks the account's policies among `ids` (a concurrent delete waits) and returns the ids found. */
  lockExisting(accountId: string, ids: string[], tx: Tx): Promise<Set<string>>;
  list(accountId: string, page: number, perPage: number): Promise<{ rows: ReusablePolicyRecord[]; total: number }>;
  insert(policy: ReusablePolicyRecord, tx: Tx): Promise<void>;
  update(policy: ReusablePolicyRecord, tx: Tx): Promise<void>;
  remove(accountId: string, policyId: string, tx: Tx): Promise<void>;
  /** The account's policies with a rule naming the token (in include, require or exclude), by name. */
  usingToken(accountId: string, tokenId: string): Promise<ReusablePolicyRecord[]>;
  /** The apps linking each policy, by app name. */
  users(policyIds: string[], tx?: Tx): Promise<Map<string, PolicyUser[]>>;
}

@Injectable()
export class ReusablePoliciesRepository implements ReusablePolicyStore {
  constructor(private readonly dataSource: DataSource) {}

  find(accountId: string, policyId: string, tx?: Tx): Promise<ReusablePolicyRecord | null> {
    return managerOf(this.dataSource, tx).findOneBy(ReusablePolicyEntity, { accountId, id: policyId });
  }

  findForUpdate(accountId: string, policyId: string, tx: Tx): Promise<ReusablePolicyRecord | null> {
    return managerOf(this.dataSource, tx)
      .createQueryBuilder(ReusablePolicyEntity, 'p')
      .setLock('pessimistic_write')
      .where('p.account_id = :accountId AND p.id = :policyId', { accountId, policyId })
      .getOne();
  }

  async lockExisting(accountId: string, ids: string[], tx: Tx): Promise<Set<string>> {
    if (!ids.length) return new Set();
    const rows = await managerOf(this.dataSource, tx)
      .createQueryBuilder(ReusablePolicyEntity, 'p')
      .setLock('pessimistic_read')
      .select('p.id', 'id')
      .where('p.account_id = :accountId AND p.id IN (:...ids)', { accountId, ids: [...new Set(ids)] })
      .getRawMany<{ id: string }>();
    return new Set(rows.map((r) => r.id));
  }

  async list(accountId: string, page: number, perPage: number) {
    const [rows, total] = await this.dataSource.manager
      .createQueryBuilder(ReusablePolicyEntity, 'p')
      .where('p.account_id = :accountId', { accountId })
      .orderBy('p.created_at', 'DESC')
      .addOrderBy('p.id', 'DESC')
      .skip((page - 1) * perPage)
      .take(perPage)
      .getManyAndCount();
    return { rows, total };
  }

  async insert(policy: ReusablePolicyRecord, tx: Tx): Promise<void> {
    await managerOf(this.dataSource, tx).insert(ReusablePolicyEntity, policy);
  }

  async update(policy: ReusablePolicyRecord, tx: Tx): Promise<void> {
    const { id, accountId, createdAt: _createdAt, ...fields } = policy;
    await managerOf(this.dataSource, tx).update(ReusablePolicyEntity, { id, accountId }, fields);
  }

  async remove(accountId: string, policyId: string, tx: Tx): Promise<void> {
    await managerOf(this.dataSource, tx).delete(ReusablePolicyEntity, { accountId, id: policyId });
  }

  usingToken(accountId: string, tokenId: string): Promise<ReusablePolicyRecord[]> {
    const needle = JSON.stringify([{ serviceToken: { tokenId } }]);
    return this.dataSource.manager
      .createQueryBuilder(ReusablePolicyEntity, 'p')
      .where('p.account_id = :accountId', { accountId })
      .andWhere('(p.include_rules @> CAST(:needle AS jsonb) OR p.require_rules @> CAST(:needle AS jsonb) OR p.exclude_rules @> CAST(:needle AS jsonb))', {
        needle,
      })
      .orderBy('p.name', 'ASC')
      .addOrderBy('p.id', 'ASC')
      .getMany();
  }

  async users(policyIds: string[], tx?: Tx): Promise<Map<string, PolicyUser[]>> {
    const out = new Map<string, PolicyUser[]>(policyIds.map((id) => [id, []]));
    if (!policyIds.length) return out;
    const rows = await managerOf(this.dataSource, tx)
      .createQueryBuilder(AppPolicyLinkEntity, 'l')
      .innerJoin(ApplicationEntity, 'a', 'a.id = l.app_id')
      .select(['l.policy_id AS "policyId"', 'a.id AS "id"', 'a.name AS "name"', 'l.precedence AS "precedence"'])
      .where('l.policy_id IN (:...ids)', { ids: policyIds })
      .orderBy('a.name', 'ASC')
      .addOrderBy('a.id', 'ASC')
      .getRawMany<{ policyId: string; id: string; name: string; precedence: number }>();
    for (const r of rows) out.get(r.policyId)?.push({ id: r.id, name: r.name, precedence: Number(r.precedence) });
    return out;
  }
}
