import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { managerOf, type Tx } from '../database/unit-of-work.js';
import { OrganizationEntity } from './organization.entity.js';

export interface OrganizationStore {
  find(accountId: string, tx?: Tx): Promise<OrganizationEntity | null>;
  /** Locks the row (or, when there is none yet, the account's slot) for the transaction. */
  findForUpdate(accountId: string, tx: Tx): Promise<OrganizationEntity | null>;
  save(org: OrganizationEntity, tx: Tx): Promise<void>;
  all(tx?: Tx): Promise<OrganizationEntity[]>;
  /** Organizations whose inactivity cleanup is on. */
  withInactivityEnabled(): Promise<OrganizationEntity[]>;
}

@Injectable()
export class OrganizationsRepository implements OrganizationStore {
  constructor(private readonly dataSource: DataSource) {}

  find(accountId: string, tx?: Tx): Promise<OrganizationEntity | null> {
    return managerOf(this.dataSource, tx).findOneBy(OrganizationEntity, { accountId });
  }

  async findForUpdate(accountId: string, tx: Tx): Promise<OrganizationEntity | null> {
    const em = managerOf(this.dataSource, tx);
    // Two first saves at once: the advisory lock orders them (there is no row to lock yet).
    await em.query(`SELECT pg_advisory_xact_lock(hashtext('access_organizations'), hashtext($1))`, [accountId]);
    return em.findOne(OrganizationEntity, { where: { accountId }, lock: { mode: 'pessimistic_write' } });
  }

  async save(org: OrganizationEntity, tx: Tx): Promise<void> {
    await managerOf(this.dataSource, tx).upsert(OrganizationEntity, org, ['accountId']);
  }

  all(tx?: Tx): Promise<OrganizationEntity[]> {
    return managerOf(this.dataSource, tx).find(OrganizationEntity, { order: { accountId: 'ASC' } });
  }

  withInactivityEnabled(): Promise<OrganizationEntity[]> {
    return this.dataSource.manager.find(OrganizationEntity, { where: { inactivityEnabled: true }, order: { accountId: 'ASC' } });
  }
}
