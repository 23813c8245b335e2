import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { STARTUP_GRACE_MS } from '@gatehouse/contracts';
import { expectEventually } from '@gatehouse/testing';
import type { TokenReplicaRepository } from './token-replica.repository.js';
import { SyncGate } from './sync-gate.js';
import { TokenReplicaService } from './token-replica.service.js';

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
