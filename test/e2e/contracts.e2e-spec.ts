import { allContracts } from '@gatehouse/contracts';
import { expectEventually } from '@gatehouse/testing';
import { startSystem, type System } from '../src/system.js';

/** NATS subject matching with `*` (one token) and `>` (the rest). */
function matches(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '>') return s.length > i;
    if (i >= s.length || (p[i] !== '*' && p[i] !== s[i])) return false;
  }
  return p.length === s.length;
}

/**
 * Contract coverage: with every service running, each subject defined in libs/contracts has a
 * subscriber on the real nats-server (a handler for each request/reply subject, a consumer for
 * each event). A subject that nobody serves is dead contract or a missing handler.
 */
describe('every contract subject has a handler', () => {
  let sys: System;
  beforeAll(async () => {
    sys = await startSystem({
      extra: [
        { name: 'auth-service', migrate: true, env: { GATEHOUSE_GATEWAY_PORT: '0' } },
        { name: 'notification-service', migrate: true, env: { SMTP_URL: 'smtp://127.0.0.1:9' } },
      ],
    });
  });
  afterAll(async () => sys?.stop());

  it('has a subscription for each subject', async () => {
    await expectEventually(
      async () => {
        const res = await fetch(`${sys.nats.monitorUrl}/subsz?subs=1`);
        const body = (await res.json()) as { subscriptions_list?: Array<{ subject: string }> };
        const subscribed = (body.subscriptions_list ?? []).map((s) => s.subject);
        const missing = allContracts()
          .map((c) => c.subject)
          .filter((subject) => !subscribed.some((pattern) => matches(pattern, subject)));
        expect(missing).toEqual([]);
      },
      { timeoutMs: 20_000, intervalMs: 250 },
    );
  });
});
