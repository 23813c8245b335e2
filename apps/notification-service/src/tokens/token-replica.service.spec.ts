import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { STARTUP_GRACE_MS, TokenRows, type ChangeRecord } from '@gatehouse/contracts';
import { expectEventually } from '@gatehouse/testing';
import type { TokenReplicaRepository } from './token-replica.repository.js';
import { SyncGate } from './sync-gate.js';
import { ANALYZE_AFTER_RECORDS, TokenReplicaService } from './token-replica.service.js';

describe('TokenReplicaService start-up', () => {
  const clock = { now: () => new Date() };
  const down = { request: () => Promise.reject(new Error('No service answers on replica.v3.changes')) };
  const repo = { syncedRevision: async () => -1 } as unknown as TokenReplicaRepository;
  let warn: jest.SpiedFunction<Logger['warn']>;
  let log: jest.SpiedFunction<Logger['log']>;

  beforeEach(() => {
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    log = jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
  });
  afterEach(() => jest.restoreAllMocks());

  it('does not warn while the token service is not answering yet at start, and warns once the grace time is over', async () => {
    const replica = new TokenReplicaService(repo, down as never, clock, { kick: () => undefined }, { GATEHOUSE_NOTIFY_RESYNC_MS: 60_000 }, new SyncGate());
    await replica.start();
    await expectEventually(() =>
      expect(log).toHaveBeenCalledWith(
        expect.stringMatching(/^Replication pull failed \(No service answers on replica\.v3\.changes\); retrying \(starting up\)$/),
      ),
    );
    expect(warn).not.toHaveBeenCalled();

    const now = Date.now();
    jest.spyOn(Date, 'now').mockReturnValue(now + STARTUP_GRACE_MS + 1);
    await replica.resync();
    await replica.stop();
    expect(warn).toHaveBeenCalledWith(expect.stringMatching(/^Replication pull failed/));
  });
});

describe('TokenReplicaService after a bulk load', () => {
  const clock = { now: () => new Date() };
  const tombstones = (n: number, from = 0): ChangeRecord[] =>
    Array.from({ length: n }, (_, i) => ({ type: 'tombstone', entity: 'token', revision: from + i + 1, id: '00000000-0000-4000-8000-000000000000' }));

  function replicaWith() {
    const calls = { analyze: 0 };
    const repo = {
      syncedRevision: async () => -1,
      applyRecords: async () => 0,
      markSynced: async () => undefined,
      analyze: async () => void calls.analyze++,
    } as unknown as TokenReplicaRepository;
    const replica = new TokenReplicaService(repo, {} as never, clock, { kick: () => undefined }, { GATEHOUSE_NOTIFY_RESYNC_MS: 60_000 }, new SyncGate());
    return { replica, calls };
  }

  it('refreshes the copy’s planner statistics once a pull wrote many records, and not after a small one', async () => {
    const { replica, calls } = replicaWith();
    await replica.apply(tombstones(ANALYZE_AFTER_RECORDS - 1), TokenRows.EMPTY);
    await replica.caughtUp(ANALYZE_AFTER_RECORDS - 1);
    expect(calls.analyze).toBe(0);
    await replica.apply(tombstones(1, ANALYZE_AFTER_RECORDS), TokenRows.EMPTY);
    await replica.caughtUp(ANALYZE_AFTER_RECORDS);
    expect(calls.analyze).toBe(1);
    // Counted again from there: the next small pull does not analyze.
    await replica.apply(tombstones(5, ANALYZE_AFTER_RECORDS + 1), TokenRows.EMPTY);
    await replica.caughtUp(ANALYZE_AFTER_RECORDS + 6);
    expect(calls.analyze).toBe(1);
  });
});
