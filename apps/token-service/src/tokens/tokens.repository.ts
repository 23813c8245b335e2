import type { DataSource } from 'typeorm';
import { managerOf, type Tx } from '../database/unit-of-work.js';
import { ServiceTokenEntity } from './token.entity.js';
import type { TokenRecord } from './token.record.js';

export interface TokenFilter {
  name?: string;
  search?: string;
  expiresAfter?: Date;
  expiresBefore?: Date;
}

/** Escapes LIKE wildcards so a search for "50%" means the text "50%". */
function likePattern(text: string): string {
  return '%' + text.replace(/[\\%_]/g, (c) => '\\' + c) + '%';
}

export interface TokenStore {
  find(accountId: string, tokenId: string, tx?: Tx): Promise<TokenRecord | null>;
  findForUpdate(accountId: string, tokenId: string, tx: Tx): Promise<TokenRecord | null>;
  list(accountId: string, filter: TokenFilter, page: number, perPage: number): Promise<{ rows: TokenRecord[]; total: number }>;
  insert(token: TokenRecord, tx: Tx): Promise<void>;
  update(token: TokenRecord, tx: Tx): Promise<void>;
  remove(accountId: string, tokenId: string, tx: Tx): Promise<void>;
  markSeen(seen: Array<{ tokenId: string; at: Date }>): Promise<number>;
}
export const TOKEN_STORE = Symbol('TOKEN_STORE');

export class TokensRepository implements TokenStore {
  constructor(private readonly dataSource: DataSource) {}

  find(accountId: string, tokenId: string, tx?: Tx): Promise<TokenRecord | null> {
    return managerOf(this.dataSource, tx).findOneBy(ServiceTokenEntity, { accountId, id: tokenId });
  }

  findForUpdate(accountId: string, tokenId: string, tx: Tx): Promise<TokenRecord | null> {
    return managerOf(this.dataSource, tx)
      .createQueryBuilder(ServiceTokenEntity, 't')
      .setLock('pessimistic_write')
      .where('t.account_id = :accountId AND t.id = :tokenId', { accountId, tokenId })
      .getOne();
  }

  async list(accountId: string, filter: TokenFilter, page: number, perPage: number) {
    const qb = this.dataSource.manager
      .createQueryBuilder(ServiceTokenEntity, 't')
      .where('t.account_id = :accountId', { accountId });
    if (filter.name !== undefined) qb.andWhere('t.name = :name', { name: filter.name });
    if (filter.search) {
      qb.andWhere("(t.name ILIKE :pattern ESCAPE '\\' OR t.client_id ILIKE :pattern ESCAPE '\\')", {
        pattern: likePattern(filter.search),
      });
    }
    const byExpiry = filter.expiresAfter !== undefined || filter.expiresBefore !== undefined;
    if (filter.expiresAfter) qb.andWhere('t.expires_at >= :after', { after: filter.expiresAfter });
    if (filter.expiresBefore) qb.andWhere('t.expires_at < :before', { before: filter.expiresBefore });
    if (byExpiry) qb.andWhere('t.expires_at IS NOT NULL').orderBy('t.expires_at', 'ASC');
    else qb.orderBy('t.created_at', 'DESC');
    const [rows, total] = await qb
      .addOrderBy('t.id', 'DESC')
      .skip((page - 1) * perPage)
      .take(perPage)
      .getManyAndCount();
    return { rows, total };
  }

  async insert(token: TokenRecord, tx: Tx): Promise<void> {
    await managerOf(this.dataSource, tx).insert(ServiceTokenEntity, token);
  }

  async update(token: TokenRecord, tx: Tx): Promise<void> {
    const { id, accountId, ...fields } = token;
    await managerOf(this.dataSource, tx).update(ServiceTokenEntity, { id, accountId }, fields);
  }

  async remove(accountId: string, tokenId: string, tx: Tx): Promise<void> {
    await managerOf(this.dataSource, tx).delete(ServiceTokenEntity, { accountId, id: tokenId });
  }

  /** One statement for a whole batch of sightings; never moves last_seen_at backwards. */
  async markSeen(seen: Array<{ tokenId: string; at: Date }>): Promise<number> {
    if (!seen.length) return 0;
    const result: [unknown, number] = await this.dataSource.manager.query(
      `UPDATE "service_tokens" AS t SET "last_seen_at" = s.at
         FROM (SELECT id, max(at) AS at FROM unnest($1::uuid[], $2::timestamptz[]) AS u(id, at) GROUP BY id) AS s
        WHERE t.id = s.id AND (t.last_seen_at IS NULL OR t.last_seen_at < s.at)`,
      [seen.map((s) => s.tokenId), seen.map((s) => s.at.toISOString())],
    );
    return Array.isArray(result) ? Number(result[1] ?? 0) : 0;
  }
}
