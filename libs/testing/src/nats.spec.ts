import { startNats } from './nats.js';
import { accepts } from './ports.js';

describe('startNats', () => {
  it('a server that exits before it listens is reported at once, with what nats-server said', async () => {
    const started = Date.now();
    await expect(startNats({ config: 'this is { not a config' })).rejects.toThrow(/exited \(1\) before it listened: .*\S/s);
    // Three attempts, none waiting out the 10 s a silent server would be given.
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('pause stops the server, resume brings it back on the same port', async () => {
    const nats = await startNats();
    try {
      expect(await accepts(nats.port)).toBe(true);
      await nats.pause();
      expect(await accepts(nats.port)).toBe(false);
      await nats.resume();
      expect(await accepts(nats.port)).toBe(true);
    } finally {
      await nats.stop();
    }
    expect(await accepts(nats.port)).toBe(false);
  });
});
