import { CreateServiceToken, ListAccounts, TokenDeleted, allContracts, inboxPrefixOf, type ServiceName } from '@gatehouse/contracts';
import { expectEventually } from '@gatehouse/testing';
import { connect, type NatsConnection } from '@nats-io/transport-node';
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

/**
 * NATS security: every service of the system above runs with a user of its own and only the
 * permissions the contracts give it (libs/contracts/src/permissions.ts). Here a client without
 * credentials, and clients holding one service's credentials, try what that service must not do.
 */
describe('NATS permissions', () => {
  let sys: System;
  const open: NatsConnection[] = [];
  beforeAll(async () => {
    sys = await startSystem({ extra: [{ name: 'auth-service', migrate: true, env: { GATEHOUSE_GATEWAY_PORT: '0' } }] });
  });
  afterAll(async () => {
    await Promise.all(open.map((nc) => nc.close().catch(() => undefined)));
    await sys?.stop();
  });

  /** Connects as a service; collects every error the server reports to this client. */
  async function as(service: ServiceName) {
    const { user, password } = sys.natsUsers[service];
    const nc = await connect({ servers: sys.nats.url, user, pass: password, inboxPrefix: inboxPrefixOf(service), maxReconnectAttempts: 0 });
    open.push(nc);
    const errors: string[] = [];
    void (async () => {
      for await (const s of nc.status()) if (s.type === 'error') errors.push((s as { error?: Error }).error?.message ?? JSON.stringify(s));
    })();
    return { nc, errors };
  }
  const packet = (subject: string, data: unknown) => JSON.stringify({ pattern: subject, data, id: '1' });

  it('refuses a client without credentials, or with a wrong password', async () => {
    await expect(connect({ servers: sys.nats.url, maxReconnectAttempts: 0 })).rejects.toThrow(/authoriz/i);
    await expect(connect({ servers: sys.nats.url, user: 'api', pass: 'wrong', maxReconnectAttempts: 0 })).rejects.toThrow(/authoriz/i);
  });

  it('serves a service inside its permissions (the API lists accounts over its own inbox)', async () => {
    const { nc } = await as('api');
    const reply = await nc.request(ListAccounts.subject, packet(ListAccounts.subject, {}), { timeout: 5000 });
    expect(reply.json<{ response: unknown[] }>().response.length).toBeGreaterThan(0);
  });

  it('refuses the gateway minting a token, answering tokens.v1.create, or forging a token event', async () => {
    const before = (await sys.api(`/client/v4/accounts/${await sys.defaultAccountId()}/access/service_tokens`)).body.result.length;
    const { nc, errors } = await as('auth-service');
    const accountId = await sys.defaultAccountId();
    await expect(
      nc.request(CreateServiceToken.subject, packet(CreateServiceToken.subject, { accountId, name: 'minted-by-gateway', actor: { type: 'admin', id: 'x' } }), {
        timeout: 1500,
      }),
    ).rejects.toThrow();
    nc.subscribe(CreateServiceToken.subject);
    nc.publish(TokenDeleted.subject, packet(TokenDeleted.subject, {}));
    await nc.flush();
    await expectEventually(() => {
      expect(errors.join('\n')).toMatch(new RegExp(`Permissions Violation for Publish to "${CreateServiceToken.subject}"`, 'i'));
      expect(errors.join('\n')).toMatch(new RegExp(`Permissions Violation for Subscription to "${CreateServiceToken.subject}"`, 'i'));
      expect(errors.join('\n')).toMatch(new RegExp(`Permissions Violation for Publish to "${TokenDeleted.subject}"`, 'i'));
    });
    const after = (await sys.api(`/client/v4/accounts/${accountId}/access/service_tokens`)).body.result;
    expect(after.length).toBe(before);
    expect(after.some((t: { name: string }) => t.name === 'minted-by-gateway')).toBe(false);
  });

  it("refuses a service reading another's replies (a new client secret travels in one)", async () => {
    const { nc, errors } = await as('auth-service');
    nc.subscribe(`${inboxPrefixOf('api')}.>`);
    nc.subscribe('_INBOX.>');
    await nc.flush();
    await expectEventually(() => {
      expect(errors.join('\n')).toMatch(new RegExp(`Permissions Violation for Subscription to "${inboxPrefixOf('api')}\\.>"`, 'i'));
      expect(errors.join('\n')).toMatch(/Permissions Violation for Subscription to "_INBOX\.>"/i);
    });
  });
});
