import {
  MAX_PAGE_BYTES,
  MAX_PAGE_RECORDS,
  PAGE_ENVELOPE_BYTES,
  ReplicatedEntities,
  TOMBSTONE_SOURCE,
  type ChangeCursor,
  type ReplicaChangesCompact,
  type ChangesPage,
  type ChangesRequest,
} from '@gatehouse/contracts';
import { Inject, Injectable } from '@nestjs/common';
import { NatsServerLimits } from '@gatehouse/nest-kit';
import type { z } from 'zod';
import { ReplicaRepository, type ChangeStore } from './replica.repository.js';

const LAST_ID = 'ffffffff-ffff-ffff-ffff-ffffffffffff';
/** Typical JSON of a token record (sizes how many rows a page reads: a few more than fit). */
const TYPICAL_RECORD_BYTES = 480;
/**
 * The same for a replica.v3 token row (about 210 bytes), rounded up: a page past the byte bound is
 * read again with fewer rows, so pages of typical tokens should fit.
 */
const TYPICAL_ROW_BYTES = 225;
const DEFAULT_RECORDS = 1_000;
/** Room left when a page is sized by measured record sizes: a page past its byte bound is read again. */
const MEASURED_MARGIN = 1.1;
/** The measured size per record is held within these (a tombstone is ~100 bytes of JSON). */
const MIN_RECORD_BYTES = 64;
const MAX_RECORD_BYTES = 16_384;

/**
 * Pages of "what changed after a position", read in one statement (one snapshot) with its head revision. Pages are
 * bounded by records and by bytes of JSON; the last record's position is the next page's start.
 */
@Injectable()
export class ReplicaService {
  /**
   * JSON bytes per record other than a token (apps, policies, organizations, tombstones), as the
   * last replica.v3 page with such records measured. A page that continues after one of them is
   * sized by it: sized for token rows, a page among a fleet's apps and policies (~3× a row's bytes
   * each) passed its byte bound, so PostgreSQL built the records of ~1,000 and then of the ~340
   * that fit. Only a hint: a page is still cut by its bytes. Kept per entity set and per source of
   * the page's last record (what the next page's cursor names), so that a notifier's tombstone
   * pages and a gateway's policy pages do not size each other's, and held within
   * [MIN_RECORD_BYTES, MAX_RECORD_BYTES] whatever a client's requests made of it.
   */
  private readonly recordBytes = new Map<string, number>();

  constructor(
    @Inject(ReplicaRepository) private readonly store: ChangeStore,
    /** Replies leave through the same nats-server: its max_payload bounds a page too, whatever the client asked. */
    @Inject(NatsServerLimits) private readonly nats: Pick<NatsServerLimits, 'maxPayload'>,
  ) {}

  async head(): Promise<{ head: number }> {
    return { head: await this.store.head() };
  }

  async changes(req: ChangesRequest): Promise<ChangesPage> {
    const { entities, maxBytes, maxRecords, after } = this.bounds(req);
    const limit = Math.min(maxRecords, Math.ceil(maxBytes / TYPICAL_RECORD_BYTES) + 1);
    const { head, floor, rows, full } = await this.store.read(after, limit, entities);
    const records: ChangesPage['records'] = [];
    let bytes = 0;
    let last: ChangeCursor | null = null;
    // `full`: the store stopped at `limit` rows, so more may follow the last one.
    let more = full;
    for (const c of rows) {
      const size = c.bytes + 1;
      if (records.length >= maxRecords || (records.length > 0 && bytes + size > maxBytes)) {
        more = true;
        break;
      }
      records.push(c.record);
      bytes += size;
      last = c.at;
    }
    return { head, floor, records, next: more ? last : null };
  }

  /**
   * replica.v3: the same page with its tokens as binary rows, written by PostgreSQL within
   * `maxBytes`; nothing per token happens here. Envelope bytes beyond the rows (head,
   * floor, next, the reply's own fields) are inside PAGE_ENVELOPE_BYTES.
   */
  async changesCompact(req: ChangesRequest): Promise<z.infer<typeof ReplicaChangesCompact.response>> {
    const { entities, maxBytes, maxRecords, after } = this.bounds(req);
    // A cursor's source says where the previous page ended: among tokens (0), or among other records.
    const amongRecords = req.after !== undefined && req.after[1] !== 0;
    const hint = (source: number) => `${entities.join(',')}:${source}`;
    const perRecord = this.recordBytes.get(hint(after[1])) ?? TYPICAL_RECORD_BYTES;
    const limit = amongRecords
      ? Math.min(maxRecords, Math.max(1, Math.floor(maxBytes / (perRecord * MEASURED_MARGIN))))
      : Math.min(maxRecords, Math.ceil(maxBytes / TYPICAL_ROW_BYTES) + 1);
    const page = await this.store.readCompact(after, limit, maxBytes, entities);
    if (page.records.length > 0 && page.last) {
      const measured = Math.min(MAX_RECORD_BYTES, Math.max(MIN_RECORD_BYTES, page.recordBytes / page.records.length));
      this.recordBytes.set(hint(page.last[1]), measured);
    }
    return { head: page.head, floor: page.floor, records: page.records, tokens: page.tokens, next: page.more ? page.last : null };
  }

  private bounds(req: ChangesRequest) {
    return {
      entities: req.entities ?? [...ReplicatedEntities],
      maxBytes: Math.min(req.maxBytes ?? MAX_PAGE_BYTES, MAX_PAGE_BYTES, this.nats.maxPayload() - PAGE_ENVELOPE_BYTES),
      maxRecords: Math.min(req.maxRecords ?? DEFAULT_RECORDS, MAX_PAGE_RECORDS),
      after: req.after ?? ([req.since, TOMBSTONE_SOURCE, LAST_ID] as ChangeCursor),
    };
  }
}
