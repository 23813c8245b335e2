import { AlertScheduler, KICK_GAP_MS, backoffMs, redactor } from './alert.scheduler.js';
import { SyncGate } from '../tokens/sync-gate.js';
import { loadEnv } from '../config/env.js';

describe('retry backoff', () => {
  it('doubles from the base, caps at the maximum, and jitters by at most 20 %', () => {
    const mid = () => 0.5;
    expect([1, 2, 3, 4].map((n) => backoffMs(n, 1000, 60_000, mid))).toEqual([1000, 2000, 4000, 8000]);
    expect(backoffMs(30, 1000, 60_000, mid)).toBe(60_000);
    expect(backoffMs(1, 1000, 60_000, () => 0)).toBe(800);
    expect(backoffMs(1, 1000, 60_000, () => 0.999999)).toBe(1200);
  });
});

describe('error redaction', () => {
  it('removes SMTP credentials, raw or URL-encoded, and any URL userinfo', () => {
    const redact = redactor(['p@ss word', 'alerts']);
    expect(redact('login failed for alerts with p@ss word')).toBe('login failed for *** with ***');
    expect(redact('smtp://x:p%40ss%20word@host')).not.toContain('p%40ss%20word');
    expect(redact('see https://bob:hunter2@example.com/path')).toBe('see https://***:***@example.com/path');
    expect(redact('x'.repeat(800))).toHaveLength(500);
  });

  it('never echoes SMTP_URL in configuration errors', () => {
    expect(() =>
      loadEnv({ DATABASE_URL: 'postgres://h/db', NATS_URL: 'nats://h', GATEHOUSE_HASH_KEY: 'k'.repeat(32), SMTP_URL: 'http://user:hunter2@mail' }),
    ).toThrow(/SMTP_URL: must be an smtp:\/\/ or smtps:\/\/ URL/);
    let message = '';
    try {
      loadEnv({ SMTP_URL: 'http://user:hunter2@mail' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('SMTP_URL');
    expect(message).not.toContain('hunter2');
  });
});

describe('AlertScheduler kicks', () => {
  it('runs at most one pass per KICK_GAP_MS however often it is kicked, and still runs after the last kick', async () => {
    let passes = 0;
    const outbox = {
      cancelUnwanted: async () => {
        passes++;
        return 0;
      },
      materialise: async () => 0,
      claim: async () => [],
    };
    const gate = new SyncGate();
    gate.synced = true;
    const env = loadEnv({ DATABASE_URL: 'postgres://h/db', NATS_URL: 'nats://h', GATEHOUSE_HASH_KEY: 'k'.repeat(32), SMTP_URL: 'smtp://127.0.0.1:2525' });
    const scheduler = new AlertScheduler(
      outbox as never,
      {} as never,
      {} as never,
      {} as never,
      {} as never,
      {} as never,
      { now: () => new Date() },
      gate,
      env,
      { attempted: () => undefined },
    );
    // A change every 5 ms for 600 ms (200 changes a second).
    const started = Date.now();
    while (Date.now() - started < 600) {
      scheduler.kick();
      await new Promise((r) => setTimeout(r, 5));
    }
    await scheduler.stop();
    // Without the gap each kick after a pass ended started another: about 100 passes.
    expect(passes).toBeGreaterThanOrEqual(2);
    // With the gap, one pass per KICK_GAP_MS (200 ms): 3 or 4; the bound allows one per 100 ms.
    expect(KICK_GAP_MS).toBeGreaterThanOrEqual(100);
    expect(passes).toBeLessThanOrEqual(600 / 100 + 2);
  });
});
