import type { INestMicroservice } from '@nestjs/common';
import {
  CreateAlertPolicy,
  CreateWebhookDestination,
  DeleteWebhookDestination,
  GetWebhookDestination,
  ListAlertHistory,
  ListAlertPolicies,
  UpdateAlertPolicy,
  type AlertDelivery,
} from '@gatehouse/contracts';
import { connectRpc } from '@gatehouse/nest-kit';
import { createTestDatabase, expectEventually, startNats, type TestDatabase, type TestNats } from '@gatehouse/testing';
import pg from 'pg';
import { startNotificationService } from '../src/bootstrap.js';
import { loadEnv } from '../src/config/env.js';
import { migrate } from '../src/database/data-source.js';
import { AlertScheduler } from '../src/deliveries/alert.scheduler.js';
import { TokenReplicaService } from '../src/tokens/token-replica.service.js';
import { verifyWebhookSignature } from '../src/webhooks/signature.js';
import { OffsetClock, SmtpSink, TokenServicePeer, startWebhookReceiver } from './support.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const SMTP_USER = 'alerts';
const SMTP_PASS = 'p@ss: w0rd/secret!';
const HOOK_SECRET = 'whsec_' + 'x'.repeat(32);

describe('notification service: alerts over real PostgreSQL, NATS, SMTP and HTTP', () => {
  let nats: TestNats;
  let db: TestDatabase;
  let sink: SmtpSink;
  let hooks: Awaited<ReturnType<typeof startWebhookReceiver>>;
  let peer: TokenServicePeer;
  let app: INestMicroservice;
  let rpc: Awaited<ReturnType<typeof connectRpc>>;
  const clock = new OffsetClock();
  const logs: string[] = [];
  const writes = { out: process.stdout.write.bind(process.stdout), err: process.stderr.write.bind(process.stderr) };
  let env: ReturnType<typeof loadEnv>;

  const history = async (accountId: string, tokenId?: string): Promise<AlertDelivery[]> =>
    (await rpc.request(ListAlertHistory, { accountId, tokenId, perPage: 1000 })).items;
  const scheduler = () => app.get(AlertScheduler);

  beforeAll(async () => {
    process.stdout.write = (chunk: string | Uint8Array, ...rest: unknown[]) => {
      logs.push(String(chunk));
      return (writes.out as (...a: unknown[]) => boolean)(chunk, ...rest);
    };
    process.stderr.write = (chunk: string | Uint8Array, ...rest: unknown[]) => {
      logs.push(String(chunk));
      return (writes.err as (...a: unknown[]) => boolean)(chunk, ...rest);
    };
    nats = await startNats();
    db = await createTestDatabase(async (url) => void (await migrate(url)), 'gh_notify');
    sink = await new SmtpSink({ user: SMTP_USER, pass: SMTP_PASS }).start();
    hooks = await startWebhookReceiver();
    peer = await new TokenServicePeer(nats.url, clock).start();
    env = loadEnv({
      DATABASE_URL: db.url,
      NATS_URL: nats.url,
      GATEHOUSE_HASH_KEY: 'h'.repeat(64),
      SMTP_URL: `smtp://${SMTP_USER}:${encodeURIComponent(SMTP_PASS)}@127.0.0.1:${sink.port}`,
      GATEHOUSE_PUBLIC_URL: 'https://gatehouse.example.com',
      GATEHOUSE_NOTIFY_TICK_MS: '100',
      GATEHOUSE_NOTIFY_RETRY_BASE_MS: '100',
      GATEHOUSE_NOTIFY_RETRY_MAX_MS: '300',
      GATEHOUSE_NOTIFY_LEASE_MS: '10000',
      GATEHOUSE_WEBHOOK_TIMEOUT_MS: '2000',
      GATEHOUSE_LOG_LEVEL: 'warn',
      GATEHOUSE_NOTIFICATION_SERVICE_MANAGEMENT_PORT: '0',
    });
    app = await startNotificationService(env, { clock });
    rpc = await connectRpc(nats.url, 'int-test');
  });

  afterAll(async () => {
    process.stdout.write = writes.out;
    process.stderr.write = writes.err;
    await rpc?.close();
    await app?.close();
    await peer?.stop();
    await sink?.stop();
    await hooks?.close();
    await db?.drop();
    await nats?.stop();
  });

  it('alerts every recipient of a token created with 72h exactly once: email (text + HTML) and a signed webhook', async () => {
    const account = peer.addAccount('Acme Production');
    const hook = await rpc.request(CreateWebhookDestination, { accountId: account.id, name: 'ops hook', url: hooks.url, secret: HOOK_SECRET });
    expect(hook).not.toHaveProperty('secret');
    expect(hook.hasSecret).toBe(true);
    await rpc.request(CreateAlertPolicy, {
      accountId: account.id,
      name: 'expiring tokens',
      alertType: 'expiring_service_token_alert',
      mechanisms: { email: [{ id: 'ops@example.com' }, { id: 'Sec@Example.com' }, { id: 'ops@example.com' }], webhooks: [{ id: hook.id }] },
    });
    const token = await peer.create(account.id, 'ci-runner', 72 * HOUR);
    const expires = token.expiresAt!.replace(/\.\d{3}Z$/, 'Z');

    await expectEventually(() => expect(sink.forToken(token.id)).toHaveLength(2), { timeoutMs: 10_000 });
    await expectEventually(() => expect(hooks.received.filter((h) => h.body.includes(token.id))).toHaveLength(1));

    const mail = sink.to('ops@example.com').find((m) => m.headers.get('x-gatehouse-token-id') === token.id)!;
    expect(sink.to('sec@example.com').filter((m) => m.headers.get('x-gatehouse-token-id') === token.id)).toHaveLength(1);
    expect(mail.subject).toBe(`[Gatehouse] Service token "ci-runner" expires on ${expires}`);
    expect(expires).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(mail.from?.text).toContain('gatehouse@localhost');
    for (const part of [mail.text!, mail.html as string]) {
      expect(part).toContain('Acme Production');
      expect(part).toContain(account.id);
      expect(part).toContain(token.clientId);
      expect(part).toContain(expires);
      expect(part).toContain(`https://gatehouse.example.com/client/v4/accounts/${account.id}/access/service_tokens/${token.id}/refresh`);
    }
    expect(mail.text).toContain('curl -X POST');
    expect(mail.messageId).toMatch(/^<alert\.[0-9a-f]{40}@localhost>$/);

    const delivered = hooks.received.find((h) => h.body.includes(token.id))!;
    const signature = delivered.headers['x-gatehouse-signature'] as string;
    expect(signature).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(verifyWebhookSignature(HOOK_SECRET, signature, delivered.body)).toBe(true);
    expect(verifyWebhookSignature('whsec_wrong_secret_value_123456', signature, delivered.body)).toBe(false);
    expect(verifyWebhookSignature(HOOK_SECRET, signature, delivered.body.replace('ci-runner', 'ci-runnes'))).toBe(false);
    // Cloudflare's header: the destination's secret itself.
    expect(delivered.headers['cf-webhook-auth']).toBe(HOOK_SECRET);
    expect(JSON.parse(delivered.body)).toMatchObject({
      name: 'expiring tokens',
      policy_name: 'expiring tokens',
      account_id: account.id,
      alert_type: 'expiring_service_token_alert',
      alert_event: 'ALERT_STATE_EVENT_START',
      ts: expect.any(Number),
      data: {
        account: { id: account.id, name: 'Acme Production' },
        token: { id: token.id, name: 'ci-runner', client_id: token.clientId, expires_at: expires },
      },
    });
    await expectEventually(async () => {
      const dest = await rpc.request(GetWebhookDestination, { accountId: account.id, webhookId: hook.id });
      expect(dest.lastSuccess).not.toBeNull();
      expect(dest.lastFailure).toBeNull();
    });

    await expectEventually(async () => {
      const rows = await history(account.id, token.id);
      expect(rows.map((r) => [r.mechanismType, r.target, r.status]).sort()).toEqual(
        [
          ['email', 'ops@example.com', 'sent'],
          ['email', 'sec@example.com', 'sent'],
          ['webhook', hook.id, 'sent'],
        ].sort(),
      );
    });

    // The same event again, and a full resync: still one delivery per recipient.
    await peer.publish('created', token, peer.revision);
    await app.get(TokenReplicaService).resync();
    await scheduler().runOnce();
    await scheduler().runOnce();
    expect(sink.forToken(token.id)).toHaveLength(2);
    expect(hooks.received.filter((h) => h.body.includes(token.id))).toHaveLength(1);
    expect(await history(account.id, token.id)).toHaveLength(3);
  });

  it('stores webhook secrets encrypted, never returns them, and refuses to delete a destination in use', async () => {
    const account = peer.addAccount('Secrets Inc');
    const hook = await rpc.request(CreateWebhookDestination, { accountId: account.id, name: 'h', url: hooks.url, secret: HOOK_SECRET });
    await expect(rpc.request(GetWebhookDestination, { accountId: account.id, webhookId: hook.id })).resolves.not.toHaveProperty('secret');
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const { rows } = await client.query('SELECT * FROM alert_webhooks WHERE id = $1', [hook.id]);
      expect(rows[0].secret_ciphertext).toMatch(/^v1\./);
      expect(JSON.stringify(rows)).not.toContain(HOOK_SECRET);
    } finally {
      await client.end();
    }
    await rpc.request(CreateAlertPolicy, {
      accountId: account.id,
      name: 'uses hook',
      alertType: 'expiring_service_token_alert',
      mechanisms: { webhooks: [{ id: hook.id }] },
    });
    await expect(rpc.request(DeleteWebhookDestination, { accountId: account.id, webhookId: hook.id })).rejects.toMatchObject({ code: 'CONFLICT' });
  });

  it('rejects unknown accounts and webhook destinations of another account', async () => {
    const account = peer.addAccount('Validation');
    const other = peer.addAccount('Other');
    const foreign = await rpc.request(CreateWebhookDestination, { accountId: other.id, name: 'theirs', url: hooks.url });
    await expect(rpc.request(ListAlertPolicies, { accountId: crypto.randomUUID() })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(
      rpc.request(CreateAlertPolicy, {
        accountId: account.id,
        name: 'bad',
        alertType: 'expiring_service_token_alert',
        mechanisms: { webhooks: [{ id: foreign.id }] },
      }),
    ).rejects.toMatchObject({ code: 'VALIDATION_FAILED', details: [expect.objectContaining({ path: 'mechanisms.webhooks' })] });
  });

  it('alerts nobody about a token expiring in 30 days until the clock reaches seven days before; deleted, disabled and forever tokens get none', async () => {
    const account = peer.addAccount('Clockwork');
    await rpc.request(CreateAlertPolicy, {
      accountId: account.id,
      name: 'weekly',
      alertType: 'expiring_service_token_alert',
      mechanisms: { email: [{ id: 'clock@example.com' }] },
    });
    const later = await peer.create(account.id, 'thirty-days', 30 * DAY);
    const deleted = await peer.create(account.id, 'deleted-early', 30 * DAY);
    const disabled = await peer.create(account.id, 'disabled', 30 * DAY);
    const forever = await peer.create(account.id, 'forever', null);
    await peer.change('deleted', deleted.id);
    await peer.change('updated', disabled.id, (t) => (t.enabled = false));
    await app.get(TokenReplicaService).resync(); // all four events are applied by now (the snapshot is newer)
    await scheduler().runOnce();
    expect(sink.to('clock@example.com')).toHaveLength(0);

    clock.advance(23 * DAY - HOUR); // one hour before the alert is due
    await scheduler().runOnce();
    expect(sink.to('clock@example.com')).toHaveLength(0);
    expect(await history(account.id)).toHaveLength(0);

    clock.advance(2 * HOUR); // now 6 days 23 hours before expiry
    await scheduler().runOnce();
    await expectEventually(() => expect(sink.to('clock@example.com')).toHaveLength(1));
    expect(sink.to('clock@example.com')[0]!.headers.get('x-gatehouse-token-id')).toBe(later.id);
    const rows = await history(account.id);
    expect(rows.map((r) => r.token.id)).toEqual([later.id]);
    // Due seven days before expiry; materialised by the first scheduler pass at or after that moment.
    expect(Date.parse(rows[0]!.dueAt)).toBeGreaterThanOrEqual(Date.parse(later.expiresAt!) - 7 * DAY);
    expect(rows[0]!.dueAt).toBe(rows[0]!.createdAt);
    expect(sink.messages.some((m) => m.headers.get('x-gatehouse-token-id') === forever.id)).toBe(false);
  });

  it('re-arms on refresh (a new expiry is a new alert) and cancels a pending delivery when the token is deleted', async () => {
    const account = peer.addAccount('Refreshers');
    const failing = await startWebhookReceiver();
    failing.status = 503;
    try {
      const hook = await rpc.request(CreateWebhookDestination, { accountId: account.id, name: 'down', url: failing.url });
      await rpc.request(CreateAlertPolicy, {
        accountId: account.id,
        name: 'refresh',
        alertType: 'expiring_service_token_alert',
        mechanisms: { email: [{ id: 'refresh@example.com' }], webhooks: [{ id: hook.id }] },
      });
      const token = await peer.create(account.id, 'short', 72 * HOUR);
      await expectEventually(() => expect(sink.to('refresh@example.com')).toHaveLength(1), { timeoutMs: 10_000 });

      const refreshed = await peer.change('refreshed', token.id, (t) => (t.expiresAt = new Date(clock.now().getTime() + 100 * HOUR).toISOString()));
      await expectEventually(() => expect(sink.to('refresh@example.com')).toHaveLength(2), { timeoutMs: 10_000 });
      expect(sink.to('refresh@example.com')[1]!.subject).toContain(refreshed.expiresAt!.replace(/\.\d{3}Z$/, 'Z'));

      // The webhook keeps failing (503): its deliveries retry with backoff, then the token is deleted.
      await expectEventually(
        async () => {
          const hooksRows = (await history(account.id, token.id)).filter((r) => r.mechanismType === 'webhook');
          expect(hooksRows.some((r) => r.attempts >= 2 && r.lastError === 'webhook answered HTTP 503')).toBe(true);
        },
        { timeoutMs: 10_000 },
      );
      await expect(rpc.request(GetWebhookDestination, { accountId: account.id, webhookId: hook.id })).resolves.toMatchObject({
        lastSuccess: null,
        lastFailure: expect.any(String),
      });
      // No secret: no cf-webhook-auth header, no signature.
      expect(failing.received[0]!.headers['cf-webhook-auth']).toBeUndefined();
      expect(failing.received[0]!.headers['x-gatehouse-signature']).toBeUndefined();
      await peer.change('deleted', token.id);
      await expectEventually(async () => {
        const rows = await history(account.id, token.id);
        const webhookRows = rows.filter((r) => r.mechanismType === 'webhook');
        expect(webhookRows.map((r) => r.status)).toEqual(['cancelled', 'cancelled']);
        expect(webhookRows.map((r) => r.lastError).sort()).toEqual(['token deleted', 'token expiry changed (refreshed or updated)']);
      });
      const attemptsAfterCancel = failing.received.length;
      await scheduler().runOnce();
      expect(failing.received.length).toBe(attemptsAfterCancel);
      expect(sink.to('refresh@example.com')).toHaveLength(2);
    } finally {
      await failing.close();
    }
  });

  it('keeps retrying while SMTP is down and delivers once when it is back; never logs the SMTP password', async () => {
    const account = peer.addAccount('Outage');
    await rpc.request(CreateAlertPolicy, {
      accountId: account.id,
      name: 'outage',
      alertType: 'expiring_service_token_alert',
      mechanisms: { email: [{ id: 'outage@example.com' }] },
    });
    await sink.stop();
    const token = await peer.create(account.id, 'during-outage', 48 * HOUR);
    await expectEventually(
      async () => {
        const [row] = await history(account.id, token.id);
        expect(row).toMatchObject({ status: 'pending' });
        expect(row!.attempts).toBeGreaterThanOrEqual(2);
        expect(row!.lastError).toMatch(/ECONNREFUSED|connect/i);
      },
      { timeoutMs: 10_000 },
    );
    await sink.start(sink.port);
    await expectEventually(async () => expect((await history(account.id, token.id))[0]).toMatchObject({ status: 'sent', lastError: null }), {
      timeoutMs: 10_000,
    });
    expect(sink.to('outage@example.com')).toHaveLength(1);
    const text = logs.join('');
    expect(text).toMatch(/Delivery [0-9a-f-]+ \(email\) attempt \d+ failed/);
    expect(text).not.toContain(SMTP_PASS);
    expect(text).not.toContain(encodeURIComponent(SMTP_PASS));
  });

  it('heals a missed event with a snapshot, and disabling a policy stops its alerts', async () => {
    const account = peer.addAccount('Resync');
    const policy = await rpc.request(CreateAlertPolicy, {
      accountId: account.id,
      name: 'resync',
      alertType: 'expiring_service_token_alert',
      mechanisms: { email: [{ id: 'resync@example.com' }] },
    });
    const missed = await peer.create(account.id, 'missed-event', 24 * HOUR, { announce: false });
    await scheduler().runOnce();
    expect(sink.forToken(missed.id)).toHaveLength(0);
    await app.get(TokenReplicaService).resync();
    await expectEventually(() => expect(sink.forToken(missed.id)).toHaveLength(1));

    await rpc.request(UpdateAlertPolicy, { ...policyInput(policy), accountId: account.id, policyId: policy.id, enabled: false });
    const quiet = await peer.create(account.id, 'policy-disabled', 24 * HOUR);
    await app.get(TokenReplicaService).resync();
    await scheduler().runOnce();
    expect(sink.forToken(quiet.id)).toHaveLength(0);
  });

  it('after a NATS outage (events lost meanwhile) resyncs on reconnect and alerts once', async () => {
    const account = peer.addAccount('Outage NATS');
    await rpc.request(CreateAlertPolicy, {
      accountId: account.id,
      name: 'nats',
      alertType: 'expiring_service_token_alert',
      mechanisms: { email: [{ id: 'nats@example.com' }] },
    });
    await nats.pause();
    const lost = await peer.create(account.id, 'created-during-nats-outage', 24 * HOUR, { announce: false });
    await nats.resume();
    await expectEventually(() => expect(sink.forToken(lost.id)).toHaveLength(1), { timeoutMs: 15_000 });
    await expectEventually(async () => expect((await history(account.id, lost.id)).map((r) => r.status)).toEqual(['sent']), { timeoutMs: 10_000 });
  });

  it('two replicas on one database share the work and never send the same alert twice', async () => {
    const second = await startNotificationService(env, { clock });
    try {
      const account = peer.addAccount('Replicated');
      await rpc.request(CreateAlertPolicy, {
        accountId: account.id,
        name: 'pair',
        alertType: 'expiring_service_token_alert',
        mechanisms: { email: [{ id: 'a@replicas.example.com' }, { id: 'b@replicas.example.com' }] },
      });
      const tokens = await Promise.all(Array.from({ length: 60 }, (_, i) => peer.create(account.id, `replicated-${i}`, 36 * HOUR)));
      await expectEventually(() => expect(sink.to('a@replicas.example.com').length + sink.to('b@replicas.example.com').length).toBe(120), {
        timeoutMs: 20_000,
      });
      await Promise.all([scheduler().runOnce(), second.get(AlertScheduler).runOnce()]);
      const ids = [...sink.to('a@replicas.example.com'), ...sink.to('b@replicas.example.com')].map((m) => m.messageId);
      expect(new Set(ids).size).toBe(120);
      expect(ids).toHaveLength(120);
      expect(new Set(sink.to('a@replicas.example.com').map((m) => m.headers.get('x-gatehouse-token-id')))).toEqual(new Set(tokens.map((t) => t.id)));
    } finally {
      await second.close();
    }
  });
});

function policyInput(p: {
  name: string;
  description: string;
  enabled: boolean;
  alertType: 'expiring_service_token_alert';
  mechanisms: { email: Array<{ id: string }>; webhooks: Array<{ id: string }> };
}) {
  return { name: p.name, description: p.description, enabled: p.enabled, alertType: p.alertType, mechanisms: p.mechanisms };
}
