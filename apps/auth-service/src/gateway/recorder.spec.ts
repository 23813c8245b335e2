import { Recorder, type Publisher } from './recorder.js';

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

describe('Recorder', () => {
  it('aggregates identical decisions of a window into one entry with a count', () => {
    const published: Array<Parameters<Publisher['publishDecisions']>[0]> = [];
    const seen: Array<Parameters<Publisher['publishSeen']>[0]> = [];
    const r = new Recorder({ publishDecisions: (p) => void published.push(p), publishSeen: (p) => void seen.push(p) });
    for (let i = 0; i < 3; i++) r.decision(base, 1000 + i);
    r.decision({ ...base, decision: 'deny', reason: 'wrong_secret' }, 1005);
    r.tokenSeen(base.tokenId, 1000);
    r.tokenSeen(base.tokenId, 1001);
    r.flush();
    expect(published).toHaveLength(1);
    expect(published[0]!.decisions.map((d) => [d.decision, d.count])).toEqual([
      ['allow', 3],
      ['deny', 1],
    ]);
    expect(seen[0]!.seen).toEqual([{ tokenId: base.tokenId, at: new Date(1000).toISOString() }]);
    r.flush();
    expect(published).toHaveLength(1);
    r.decision(base, 2000);
    r.flush();
    expect(published[1]!.decisions).toEqual([expect.objectContaining({ count: 1, occurredAt: new Date(2000).toISOString() })]);
  });
});
