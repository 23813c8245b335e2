import { TOMBSTONE_SOURCE, type ChangeCursor } from '@gatehouse/contracts';
import type { ChangeStore, CompactPageRows } from './replica.repository.js';
import { ReplicaService } from './replica.service.js';

const ID = '00000000-0000-4000-8000-000000000000';
const POLICY = 2;

/**
 * A store whose records after revision 100 are policies of `policyBytes` bytes of JSON each (tokens
 * before it): it answers as the real one does, cutting a page at its byte bound, and remembers the
 * `limit` it was asked to read each time (a limit past what fits is a statement read again).
 */
function storeOf(policyBytes: number) {
  const limits: number[] = [];
  const store: Pick<ChangeStore, 'readCompact'> = {
    readCompact([revision]: ChangeCursor, limit: number, maxBytes: number): Promise<CompactPageRows> {
      limits.push(limit);
      const n = Math.min(limit, Math.floor(maxBytes / policyBytes));
      const records = Array.from({ length: n }, (_, i) => ({ type: 'tombstone' as const, revision: revision + 1 + i, entity: 'policy' as const, id: ID }));
      return Promise.resolve({
        head: 10_000,
        floor: 0,
        tokens: Buffer.alloc(0),
        records,
        last: [revision + n, POLICY, ID],
        more: true,
        recordBytes: n * policyBytes,
      });
    },
  };
  return { store, limits };
}

describe('ReplicaService page sizing (replica.v3)', () => {
  const maxBytes = 250_000;
  const nats = { maxPayload: () => 1_048_576 };

  it('sizes a page that continues among apps and policies by their measured size, not a token row’s', async () => {
    const { store, limits } = storeOf(700);
    const service = new ReplicaService(store as ChangeStore, nats);
    // A range's first page: sized for token rows (it may start among tokens).
    await service.changesCompact({ since: 100, maxBytes });
    // Pages after a policy: sized by the 700 bytes the first page measured, with room to spare.
    await service.changesCompact({ since: 100, after: [457, POLICY, ID], maxBytes });
    await service.changesCompact({ since: 100, after: [780, POLICY, ID], maxBytes });
    expect(limits[0]).toBe(1_000);
    const fit = Math.floor(maxBytes / 700);
    for (const limit of limits.slice(1)) {
      expect(limit).toBeLessThanOrEqual(fit);
      expect(limit).toBeGreaterThan(fit * 0.85);
    }
  });

  it('sizes a page after a token, or a range’s first page, for token rows', async () => {
    const { store, limits } = storeOf(700);
    const service = new ReplicaService(store as ChangeStore, nats);
    await service.changesCompact({ since: 100, after: [457, POLICY, ID], maxBytes });
    await service.changesCompact({ since: 100, after: [900, 0, ID], maxBytes });
    await service.changesCompact({ since: 5, after: [5, POLICY, ID], maxBytes, maxRecords: 2_000 });
    expect(limits.slice(1)).toEqual([1_000, Math.min(2_000, Math.floor(maxBytes / (700 * 1.1)))]);
  });

  it('keeps its measure per entity set and per source: a notifier’s small tombstones do not size a gateway’s policy pages', async () => {
    const { store, limits } = storeOf(700);
    const service = new ReplicaService(store as ChangeStore, nats);
    await service.changesCompact({ since: 100, maxBytes }); // a gateway's page: policies of 700 bytes
    // A notifier's pages (tokens only) after a tombstone: its own measure, not the policies'.
    await service.changesCompact({ since: 100, after: [457, TOMBSTONE_SOURCE, ID], entities: ['token'], maxBytes });
    await service.changesCompact({ since: 100, after: [457, POLICY, ID], maxBytes });
    expect(limits[1]).toBe(Math.floor(maxBytes / (480 * 1.1)));
    expect(limits[2]).toBe(Math.floor(maxBytes / (700 * 1.1)));
  });

  it('holds a measure within bounds whatever the pages were (a page of one huge record)', async () => {
    const { store, limits } = storeOf(250_000);
    const service = new ReplicaService(store as ChangeStore, nats);
    await service.changesCompact({ since: 100, maxBytes });
    await service.changesCompact({ since: 100, after: [457, POLICY, ID], maxBytes });
    expect(limits[1]).toBe(Math.floor(maxBytes / (16_384 * 1.1)));
  });
});
