import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import type { TokenReplicaRepository } from './token-replica.repository.js';
import { STARTUP_GRACE_MS, SyncGate, TokenReplicaService } from './token-replica.service.js';

describe('TokenReplicaService start-up', () => {
  const clock = { now: () => new Date() };
  const down = { request: () => Promise.reject(new Error('No service answers on tokens.v1.snapshot')) };
  let warn: jest.SpiedFunction<Logger['warn']>;
  let log: jest.SpiedFunction<Logger['log']>;

  beforeEach(() => {
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    log = jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
  });
  afterEach(() => jest.restoreAllMocks());

  it('does not warn while the token service is not answering yet at start, and warns once the grace time is over', async () => {
    const replica = new TokenReplicaService({} as TokenReplicaRepository, down as never, clock, { kick: () => undefined }, 60_000, new SyncGate());
    replica.start();
    await replica.resync();
    await replica.stop();
    expect(warn).not.toHaveBeenCalled();
    expect(log).toHaveBeenCalledWith(expect.stringMatching(/^Token snapshot failed \(No service answers on tokens\.v1\.snapshot\); retrying in 2000 ms \(starting up\)$/));

    const now = Date.now();
    jest.spyOn(Date, 'now').mockReturnValue(now + STARTUP_GRACE_MS + 1);
    await replica.resync();
    await replica.stop();
    expect(warn).toHaveBeenCalledWith(expect.stringMatching(/^Token snapshot failed/));
  });
});
