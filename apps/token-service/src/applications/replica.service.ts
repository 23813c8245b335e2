import {
  MAX_PAGE_BYTES,
  MAX_PAGE_RECORDS,
  PAGE_ENVELOPE_BYTES,
  ReplicatedEntities,
  TOMBSTONE_SOURCE,
  type ChangeCursor,
  type ChangesPage,
  type ChangesRequest,
} from '@gatehouse/contracts';
import { Inject, Injectable } from '@nestjs/common';
import { NatsServerLimits } from '@gatehouse/nest-kit';
import { ReplicaRepository, type ChangeStore, type Positioned } from './replica.repository.js';

const LAST_ID = 'ffffffff-ffff-ffff-ffff-ffffffffffff';
/** Smallest JSON a token record takes (bounds how many rows a page reads per source). */
const MIN_RECORD_BYTES = 300;
const DEFAULT_RECORDS = 1_000;

/**
 * Pages of "what changed after a position", read in one statement (one snapshot) with its head revision. Pages are
 * bounded by records and by bytes of JSON; the last record's position is the next page's start.
 */
@Injectable()
export class ReplicaService {
  constructor(
    @Inject(ReplicaRepository) private readonly store: ChangeStore,
    /** Replies leave through the same nats-server: its max_payload bounds a page too, whatever the client asked. */
    @Inject(NatsServerLimits) private readonly nats: Pick<NatsServerLimits, 'maxPayload'>,
  ) {}

  async head(): Promise<{ head: number }> {
    return { head: await this.store.head() };
  }

  async changes(req: ChangesRequest): Promise<ChangesPage> {
    const entities = req.entities ?? [...ReplicatedEntities];
    const maxBytes = Math.min(req.maxBytes ?? MAX_PAGE_BYTES, MAX_PAGE_BYTES, this.nats.maxPayload() - PAGE_ENVELOPE_BYTES);
    const maxRecords = Math.min(req.maxRecords ?? DEFAULT_RECORDS, MAX_PAGE_RECORDS);
    const limit = Math.min(maxRecords, Math.ceil(maxBytes / MIN_RECORD_BYTES) + 1);
    const after: ChangeCursor = req.after ?? [req.since, TOMBSTONE_SOURCE, LAST_ID];
    {
      const { head, floor, sources } = await this.store.read(after, limit, entities);
      const candidates: Positioned[] = [];
      // A source that filled its limit may have more rows right after its last one: nothing past
      // that position may be sent yet, or the next page (starting after our last) would skip them.
      let bound: ChangeCursor | null = null;
      for (const rows of sources) {
        const lastRow = rows.at(-1);
        if (rows.length === limit && lastRow && (!bound || compare(lastRow.at, bound) < 0)) bound = lastRow.at;
        candidates.push(...rows);
      }
      candidates.sort((a, b) => compare(a.at, b.at));
      let more = false;
      const records: ChangesPage['records'] = [];
      let bytes = 0;
      let last: ChangeCursor | null = null;
      for (const c of candidates) {
        const size = Buffer.byteLength(JSON.stringify(c.record)) + 1;
        if (records.length >= maxRecords || (records.length > 0 && bytes + size > maxBytes) || (bound && compare(c.at, bound) > 0)) {
          more = true;
          break;
        }
        records.push(c.record);
        bytes += size;
        last = c.at;
      }
      if (bound && !more) more = true;
      return { head, floor, records, next: more ? last : null };
    }
  }
}

function compare(a: ChangeCursor, b: ChangeCursor): number {
  return a[0] - b[0] || a[1] - b[1] || (a[2] < b[2] ? -1 : a[2] > b[2] ? 1 : 0);
}
