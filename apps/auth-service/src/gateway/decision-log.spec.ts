import type { Allowed, Decision, Refused } from './access.js';
import { DecisionLog } from './decision-log.js';
import { Recorder, type Publisher } from './recorder.js';

type Batch = Parameters<Publisher['publishDecisions']>[0];

const app = (name = 'app') =>
  ({ id: '22222222-2222-4222-8222-222222222222', accountId: '11111111-1111-4111-8111-111111111111', name }) as unknown as Allowed['app'];
const token = (name = 'ci') => ({ id: '33333333-3333-4333-8333-333333333333', name, clientId: 'abc.access' }) as unknown as Allowed['token'];
const policy = (name = 'allow-ci') => ({ id: '44444444-4444-4444-8444-444444444444', name }) as unknown as Allowed['policy'];
const allowed = (a: Allowed['app'], t: Allowed['token'], p: Allowed['policy']): Decision => ({ ok: true, app: a, token: t, policy: p }) as unknown as Allowed;

function setup(logDecision?: (fields: Record<string, unknown>) => void) {
  const published: Batch[] = [];
  const recorder = new Recorder({ publishSeen: () => undefined, publishDecisions: async (b) => void published.push(b) });
  let now = 1000;
  const log = new DecisionLog(recorder, undefined, () => now, logDecision);
  const flush = async () => (await recorder.flush(), published.pop()!.decisions);
  return { log, flush, tick: () => now++ };
}

describe('DecisionLog', () => {
  it('counts the same admission into one entry per window, with the ray of its first request in that window', async () => {
    const { log, flush, tick } = setup();
    const [a, t, p] = [app(), token(), policy()];
    for (let i = 0; i < 3; i++) log.record(allowed(a, t, p), '10.0.0.1', 'service_token', `ray-${i}`);
    tick();
    log.record(allowed(a, t, p), '10.0.0.2', 'service_token', 'ray-other-ip');
    log.record(allowed(a, t, p), '10.0.0.1', 'jwt', 'ray-jwt');
    expect((await flush()).map((d) => [d.rayId, d.sourceIp, d.via, d.count, d.reason])).toEqual([
      ['ray-0', '10.0.0.1', 'service_token', 3, 'admitted_by_policy:allow-ci'],
      ['ray-other-ip', '10.0.0.2', 'service_token', 1, 'admitted_by_policy:allow-ci'],
      ['ray-jwt', '10.0.0.1', 'jwt', 1, 'admitted_by_policy:allow-ci'],
    ]);
    // The next window: the same admission again (the token's last one), a new entry with its own
    // ray and time, not those of the request that made the kept key.
    tick();
    log.record(allowed(a, t, p), '10.0.0.1', 'service_token', 'ray-again');
    await flush();
    tick();
    log.record(allowed(a, t, p), '10.0.0.1', 'service_token', 'ray-next');
    expect(await flush()).toEqual([expect.objectContaining({ rayId: 'ray-next', count: 1, occurredAt: new Date(1003).toISOString() })]);
  });

  it('names what a changed token, app or policy is now called (each change is a new object)', async () => {
    const { log, flush } = setup();
    const [a, t, p] = [app(), token(), policy()];
    log.record(allowed(a, t, p), '10.0.0.1', 'service_token', 'r1');
    await flush();
    log.record(allowed(a, token('renamed'), p), '10.0.0.1', 'service_token', 'r2');
    log.record(allowed(app('app-renamed'), t, p), '10.0.0.1', 'service_token', 'r3');
    log.record(allowed(a, t, policy('policy-renamed')), '10.0.0.1', 'service_token', 'r4');
    // The same ids: one entry, with the first's names, as a window always kept them; a renamed
    // policy is another reason, so another entry.
    expect((await flush()).map((d) => [d.tokenName, d.appName, d.reason, d.count])).toEqual([
      ['renamed', 'app', 'admitted_by_policy:allow-ci', 2],
      ['ci', 'app', 'admitted_by_policy:policy-renamed', 1],
    ]);
    log.record(allowed(app('app-renamed'), t, p), '10.0.0.1', 'service_token', 'r5');
    expect((await flush())[0]!.appName).toBe('app-renamed');
    log.record(allowed(a, token('renamed'), p), '10.0.0.1', 'service_token', 'r6');
    expect((await flush())[0]!.tokenName).toBe('renamed');
  });

  it('records refusals apart from admissions, and logs every decision at debug level with its own ray', async () => {
    const logged: Array<Record<string, unknown>> = [];
    const { log, flush } = setup((f) => logged.push(f));
    const [a, t, p] = [app(), token(), policy()];
    const refused = { ok: false, app: a, token: t, clientId: 'abc.access', detail: 'wrong_secret' } as unknown as Refused;
    log.record(allowed(a, t, p), '10.0.0.1', 'service_token', 'r1');
    log.record(allowed(a, t, p), '10.0.0.1', 'service_token', 'r2');
    log.record(refused, '10.0.0.1', 'service_token', 'r3');
    expect(logged.map((f) => [f.ray_id, f.result])).toEqual([
      ['r1', 'allow'],
      ['r2', 'allow'],
      ['r3', 'deny'],
    ]);
    expect((await flush()).map((d) => [d.decision, d.reason, d.count])).toEqual([
      ['allow', 'admitted_by_policy:allow-ci', 2],
      ['deny', 'wrong_secret', 1],
    ]);
  });
});
