import { loadEnv } from '../config/env.js';
import { DEFAULT_RECORDER_LIMITS, Recorder, type Publisher } from './recorder.js';

const ENV = { NATS_URL: 'nats://127.0.0.1:4222', DATABASE_URL: 'postgres://u@127.0.0.1:5432/db', GATEHOUSE_HASH_KEY: 'k'.repeat(32) };

const base = {
  accountId: '11111111-1111-4111-8111-111111111111',
  appId: '22222222-2222-4222-8222-222222222222',
  appName: 'app',
  tokenId: '33333333-3333-4333-8333-333333333333',
  tokenName: 'ci',
  clientId: 'abc.access',
  decision: 'allow' as const,
  reason: 'policy',
  sourceIp: '127.0.0.1',
  via: 'service_token' as const,
};
type Batch = Parameters<Publisher['publishDecisions']>[0];

/** A publisher that stores batches, or fails while `down` is true. */
function publisher() {
  const p = {
    down: false,
    published: [] as Batch[],
    attempts: [] as string[],
    seen: [] as Array<Parameters<Publisher['publishSeen']>[0]>,
    publishDecisions: async (b: Batch) => {
      p.attempts.push(b.batchId);
      if (p.down) throw new Error('no responders');
      p.published.push(b);
    },
    publishSeen: (s: Parameters<Publisher['publishSeen']>[0]) => void p.seen.push(s),
  };
  return p;
}

describe('Recorder', () => {
  it('aggregates identical decisions of a window into one entry with a count', async () => {
    const pub = publisher();
    const r = new Recorder(pub);
    for (let i = 0; i < 3; i++) r.decision(base, 1000 + i);
    r.decision({ ...base, decision: 'deny', reason: 'wrong_secret' }, 1005);
    r.tokenSeen(base.tokenId, 1000);
    r.tokenSeen(base.tokenId, 1001);
    await r.flush();
    expect(pub.published).toHaveLength(1);
    expect(pub.published[0]!.decisions.map((d) => [d.decision, d.count])).toEqual([
      ['allow', 3],
      ['deny', 1],
    ]);
    expect(pub.seen[0]!.seen).toEqual([{ tokenId: base.tokenId, at: new Date(1000).toISOString() }]);
    await r.flush();
    expect(pub.published).toHaveLength(1);
    r.decision(base, 2000);
    await r.flush();
    expect(pub.published[1]!.decisions).toEqual([expect.objectContaining({ count: 1, occurredAt: new Date(2000).toISOString() })]);
    expect(pub.published[1]!.batchId).not.toBe(pub.published[0]!.batchId);
  });

  it('keeps batches that cannot be stored and sends them later, in order, under the same batch id', async () => {
    const pub = publisher();
    const r = new Recorder(pub);
    pub.down = true;
    r.decision(base, 1000);
    await r.flush();
    r.decision({ ...base, reason: 'other' }, 2000);
    await r.flush();
    expect(pub.published).toHaveLength(0);
    expect(r.pending).toBe(2);
    const firstId = pub.attempts[0]!;
    pub.down = false;
    await r.flush();
    expect(pub.published.map((b) => b.decisions[0]!.occurredAt)).toEqual([new Date(1000).toISOString(), new Date(2000).toISOString()]);
    expect(pub.published[0]!.batchId).toBe(firstId);
    expect(r.pending).toBe(0);
    expect(r.dropped).toBe(0);
  });

  it('drops (and counts) new decisions only beyond the limit of waiting ones', async () => {
    const pub = publisher();
    const r = new Recorder(pub, 1000, { maxBatch: 10, maxUnsent: 3 });
    pub.down = true;
    for (const reason of ['a', 'b']) r.decision({ ...base, reason }, 1000);
    await r.flush();
    for (const reason of ['c', 'd']) for (let i = 0; i < 5; i++) r.decision({ ...base, reason }, 2000);
    await r.flush(); // 2 waiting + 2 new > 3: the new window's 10 uses are dropped and counted
    expect(r.pending).toBe(2);
    expect(r.dropped).toBe(10);
    pub.down = false;
    await r.stop();
    expect(pub.published.flatMap((b) => b.decisions.map((d) => d.reason))).toEqual(['a', 'b']);
  });

  it('records at most maxBatch distinct decisions per window (GATEHOUSE_ACCESS_LOG_MAX_DISTINCT_PER_SECOND), counting the rest', async () => {
    const pub = publisher();
    const maxBatch = loadEnv({ ...ENV, GATEHOUSE_ACCESS_LOG_MAX_DISTINCT_PER_SECOND: '3' }).GATEHOUSE_ACCESS_LOG_MAX_DISTINCT_PER_SECOND;
    const r = new Recorder(pub, 1000, { ...DEFAULT_RECORDER_LIMITS, maxBatch });
    for (const ip of ['1', '2', '3', '4', '5']) r.decision({ ...base, sourceIp: `192.0.2.${ip}` }, 1000);
    // One already in the window still counts, however many distinct ones came after the limit.
    r.decision({ ...base, sourceIp: '192.0.2.1' }, 1001);
    await r.flush();
    expect(pub.published[0]!.decisions.map((d) => [d.sourceIp, d.count])).toEqual([
      ['192.0.2.1', 2],
      ['192.0.2.2', 1],
      ['192.0.2.3', 1],
    ]);
    expect(r.dropped).toBe(2);
    // The limit is per window: the next second records again.
    r.decision({ ...base, sourceIp: '192.0.2.4' }, 2000);
    await r.flush();
    expect(pub.published[1]!.decisions.map((d) => d.sourceIp)).toEqual(['192.0.2.4']);
    expect(loadEnv(ENV).GATEHOUSE_ACCESS_LOG_MAX_DISTINCT_PER_SECOND).toBe(DEFAULT_RECORDER_LIMITS.maxBatch);
    expect(() => loadEnv({ ...ENV, GATEHOUSE_ACCESS_LOG_MAX_DISTINCT_PER_SECOND: '0' })).toThrow(/GATEHOUSE_ACCESS_LOG_MAX_DISTINCT_PER_SECOND/);
  });

  it('stop() hands over what is left, and gives up after its timeout when nothing can be stored', async () => {
    const pub = publisher();
    const r = new Recorder(pub);
    r.decision(base, 1000);
    await r.stop();
    expect(pub.published).toHaveLength(1);
    const never = new Recorder({ publishSeen: () => undefined, publishDecisions: () => new Promise<void>(() => undefined) });
    never.decision(base, 1000);
    const t0 = Date.now();
    await never.stop(50);
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(never.pending).toBe(1);
  });
});
