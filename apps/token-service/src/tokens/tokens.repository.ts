import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
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

/** A page of tokens; `exact: false` when `total` is a lower bound (see TokensRepository.list). */
export interface TokenPage {
  rows: TokenRecord[];
  total: number;
  exact: boolean;
}

/** How many matches past the end of the page a filtered list counts (its total's bound). */
export const COUNT_AHEAD = 1000;

export interface TokenStore {
  find(accountId: string, tokenId: string, tx?: Tx): Promise<TokenRecord | null>;
  findForUpdate(accountId: string, tokenId: string, tx: Tx): Promise<TokenRecord | null>;
  list(accountId: string, filter: TokenFilter, page: number, perPage: number): Promise<TokenPage>;
  /** Inserts a new token at the next replication revision (its lock held until the commit); returns that revision. */
  insert(token: TokenRecord, tx: Tx): Promise<number>;
  update(token: TokenRecord, tx: Tx): Promise<void>;
  remove(accountId: string, tokenId: string, tx: Tx): Promise<void>;
  markSeen(seen: Array<{ tokenId: string; at: Date }>): Promise<number>;
}

@Injectable()
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

  /**
   * One page, newest first (soonest expiry first with an expiry bound), and the number of matches.
   * Without a filter the total is exact and costs nothing that grows with the account (the trigger-
   * kept counts), and any page skips at most one day's tokens on the index (the day counts). With a filter, matches are counted
   * only up to COUNT_AHEAD past the end of the page: a broad search ("a") over a million tokens
   * would otherwise count them all on every page; `exact: false` then says `total` is a lower bound.
   */
  async list(accountId: string, filter: TokenFilter, page: number, perPage: number): Promise<TokenPage> {
    const offset = (page - 1) * perPage;
    const filtered = filter.name !== undefined || !!filter.search || filter.expiresAfter !== undefined || filter.expiresBefore !== undefined;
    if (!filtered) return this.unfilteredPage(accountId, offset, perPage);
    const matching = () => {
      const qb = this.dataSource.manager.createQueryBuilder(ServiceTokenEntity, 't').where('t.account_id = :accountId', { accountId });
      if (filter.name !== undefined) qb.andWhere('t.name = :name', { name: filter.name });
      if (filter.search) {
        qb.andWhere("(t.name ILIKE :pattern ESCAPE '\\' OR t.client_id ILIKE :pattern ESCAPE '\\')", { pattern: likePattern(filter.search) });
      }
      if (filter.expiresAfter) qb.andWhere('t.expires_at >= :after', { after: filter.expiresAfter });
      if (filter.expiresBefore) qb.andWhere('t.expires_at < :before', { before: filter.expiresBefore });
      return qb;
    };
    const byExpiry = filter.expiresAfter !== undefined || filter.expiresBefore !== undefined;
    const pageQuery = matching();
    if (byExpiry) pageQuery.andWhere('t.expires_at IS NOT NULL').orderBy('t.expires_at', 'ASC');
    else pageQuery.orderBy('t.created_at', 'DESC');
    const limit = offset + perPage + COUNT_AHEAD;
    const counted = matching().select('1').limit(limit);
    const [rows, found] = await Promise.all([
      pageQuery.addOrderBy('t.id', 'DESC').offset(offset).limit(perPage).getMany(),
      this.dataSource.manager
        .createQueryBuilder()
        .select('count(*)::int', 'n')
        .from(`(${counted.getQuery()})`, 'm')
        .setParameters(counted.getParameters())
        .getRawOne<{ n: number }>(),
    ]);
    const total = found?.n ?? 0;
    return { rows, total, exact: total < limit };
  }

  /**
   * One statement, so the total and the page come from one snapshot in one round trip. The page's
   * ids come from the (account_id, created_at, id) index, starting at the end of the UTC day that
   * holds the offset: the trigger-kept day counts say how many tokens are newer than that day, so
   * at most one day's tokens are skipped (migration 1768500000000), not up to the whole list.
   */
  private async unfilteredPage(accountId: string, offset: number, perPage: number): Promise<TokenPage> {
    const total = `(SELECT coalesce(sum(c.count), 0) FROM service_token_counts c WHERE c.account_id = :accountId)`;
    // Days newest first, each with the number of tokens in newer days; the page starts in the
    // oldest day that has at most `offset` tokens before it.
    const start = `(SELECT d.day, d.before FROM (
        SELECT b.day, sum(b.n) OVER (ORDER BY b.day DESC) - b.n AS before
          FROM (SELECT day, sum(count) AS n FROM service_token_day_counts WHERE account_id = :accountId GROUP BY day HAVING sum(count) > 0) b
      ) d WHERE d.before <= CAST(:offset AS bigint) ORDER BY d.day ASC LIMIT 1)`;
    const ids = `SELECT s.id FROM service_tokens s WHERE s.account_id = :accountId
        AND s.created_at < (SELECT st.day FROM ${start} st) + interval '24 hours'
      ORDER BY s.created_at DESC, s.id DESC
      OFFSET CAST(:offset AS bigint) - (SELECT st.before FROM ${start} st) LIMIT CAST(:limit AS bigint)`;
    const { entities, raw } = await this.dataSource.manager
      .createQueryBuilder(ServiceTokenEntity, 't')
      .addSelect(`${total}::bigint`, 'total')
      .where(`t.id IN (${ids})`, { accountId, offset, limit: perPage })
      .orderBy('t.created_at', 'DESC')
      .addOrderBy('t.id', 'DESC')
      .getRawAndEntities<{ total: string }>();
    if (raw.length) return { rows: entities, total: Number(raw[0]!.total), exact: true };
    // Past the end (or an empty account): the total alone.
    const [row]: Array<{ total: string }> = await this.dataSource.manager.query(
      `SELECT coalesce(sum(count), 0)::bigint AS total FROM service_token_counts WHERE account_id = $1`,
      [accountId],
    );
    return { rows: [], total: Number(row?.total ?? 0), exact: true };
  }

  async insert(token: TokenRecord, tx: Tx): Promise<number> {
    // The row is written with its revision: stamping it afterwards (replica_bump) updated a row
    // just inserted, a second version with an entry in each of its eight indexes, two of them
    // trigram GIN indexes. A new row needs no row lock first: no one else sees it before the commit.
    const result = await managerOf(this.dataSource, tx)
      .createQueryBuilder()
      .insert()
      .into(ServiceTokenEntity)
      .values({ ...token, revision: () => 'replica_next_revision()' })
      .returning(['revision'])
      .execute();
    return Number((result.raw as Array<{ revision: string }>)[0]!.revision);
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
