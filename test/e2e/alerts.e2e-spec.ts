import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import Cloudflare from 'cloudflare';
import { createTestDatabase, expectEventually, freePort, type TestDatabase } from '@gatehouse/testing';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { runOnce, runService, startSystem, type ServiceProcess, type System } from '../src/system.js';

/**
 * Expiration alerts end to end: token service, API and notification service as real processes,
 * driven over the REST API; email read from a real SMTP server (smtp-server + mailparser).
 */

/** An SMTP server that can stop answering (hold) new messages: held ones are never accepted. */
class Sink {
  readonly accepted: ParsedMail[] = [];
  held = 0;
  /** Once this many messages were accepted, stop answering new ones (null: answer all). */
  holdAfter: number | null = null;
  port = 0;
  private server!: SMTPServer;

  async start(): Promise<void> {
    this.port = await freePort();
    this.server = new SMTPServer({
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      onData: (stream, _session, cb) => {
        // Decided when the message arrives, so one that arrived during the hold is never accepted later.
        const hold = this.holdAfter !== null && this.accepted.length >= this.holdAfter;
        simpleParser(stream).then((mail) => {
          if (hold) {
            this.held++; // no reply: the client never learns the outcome (as in a crash mid-send)
            return;
          }
          this.accepted.push(mail);
          cb();
        }, cb);
      },
    });
    await new Promise<void>((resolve) => this.server.listen(this.port, '127.0.0.1', () => resolve()));
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  to(address: string): ParsedMail[] {
    return this.accepted.filter((m) => (Array.isArray(m.to) ? m.to : [m.to]).some((t) => t?.value.some((v) => v.address === address)));
  }
}

const tokenOf = (m: ParsedMail) => m.headers.get('x-gatehouse-token-id') as string;

describe('expiration alerts (real processes)', () => {
  let sys: System;
  let sink: Sink;
  let notifyDb: TestDatabase;
  let notifyEnv: Record<string, string>;
  let accountId: string;
  const hooks: Array<{ headers: IncomingHttpHeaders; body: string }> = [];
  let hookStatus = 204;
  const hookServer = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      hooks.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.statusCode = hookStatus;
      res.end();
    });
  });
  let hookUrl: string;

  const base = () => `/client/v4/accounts/${accountId}/alerting/v3`;
  const startNotifier = (): ServiceProcess => {
    const p = runService('notification-service', notifyEnv);
    sys.processes.set('notification-service', p);
    return p;
  };
  const history = async (): Promise<any[]> => {
    const res = await sys.api(`${base()}/history?per_page=1000`);
    expect(res.status).toBe(200);
    return res.body.result;
  };

  beforeAll(async () => {
    sink = new Sink();
    await sink.start();
    const hookPort = await freePort();
    await new Promise<void>((resolve) => hookServer.listen(hookPort, '127.0.0.1', () => resolve()));
    hookUrl = `http://127.0.0.1:${hookPort}/hook`;
    sys = await startSystem();
    notifyDb = await createTestDatabase(undefined, 'gh_e2e_notify');
    notifyEnv = {
      ...sys.serviceEnv('notification-service'),
      DATABASE_URL: notifyDb.url,
      SMTP_URL: `smtp://127.0.0.1:${sink.port}`,
      GATEHOUSE_NOTIFY_TICK_MS: '200',
      GATEHOUSE_NOTIFY_LEASE_MS: '3000',
      GATEHOUSE_NOTIFY_RETRY_BASE_MS: '200',
      GATEHOUSE_NOTIFY_RETRY_MAX_MS: '1000',
      GATEHOUSE_NOTIFY_BATCH: '50',
    };
    await runOnce('notification-service', 'migrate.js', notifyEnv);
    await expect(runOnce('notification-service', 'migrate.js', notifyEnv)).resolves.toContain('schema up to date');
    startNotifier();
    const created = await sys.api('/client/v4/accounts', { method: 'POST', json: { name: 'Alerts E2E' } });
    accountId = created.body.result.id;
    await expectEventually(async () => expect((await sys.api(`${base()}/policies`)).status).toBe(200), { timeoutMs: 30_000, intervalMs: 200 }).catch((e) => {
      throw new Error(`notification service did not answer: ${(e as Error).message}\n${sys.logs()}`);
    });
  }, 90_000);

  afterAll(async () => {
    await sys?.stop();
    await notifyDb?.drop();
    await sink?.stop();
    await new Promise<void>((resolve) => hookServer.close(() => resolve()));
  });

  it('validates policies and webhook destinations with 4xx in the v4 envelope, and never returns a webhook secret', async () => {
    const bad = async (path: string, json: unknown, status = 400) => {
      const res = await sys.api(path, { method: 'POST', json });
      expect(res.status).toBe(status);
      expect(res.body).toMatchObject({ success: false, result: null });
      return (res.body.errors as Array<{ message: string }>).map((e) => e.message).join('\n');
    };
    const policy = { name: 'p', alert_type: 'expiring_service_token_alert', mechanisms: { email: [{ id: 'ops@example.com' }] } };
    await expect(bad(`${base()}/policies`, { ...policy, alert_type: 'http_alert_origin_error' })).resolves.toMatch(/alert_type/);
    await expect(bad(`${base()}/policies`, { ...policy, mechanisms: {} })).resolves.toMatch(/mechanisms/);
    await expect(bad(`${base()}/policies`, { ...policy, mechanisms: { email: [] } })).resolves.toMatch(/at least one/);
    await expect(bad(`${base()}/policies`, { ...policy, mechanisms: { email: [{ id: 'not-an-email' }] } })).resolves.toMatch(/mechanisms\.email\.0\.id/);
    await expect(bad(`${base()}/policies`, { ...policy, mechanisms: { webhooks: [{ id: crypto.randomUUID() }] } })).resolves.toMatch(/webhook/);
    await expect(bad(`/client/v4/accounts/${crypto.randomUUID()}/alerting/v3/policies`, policy, 404)).resolves.toMatch(/not found/i);
    await expect(bad(`/client/v4/accounts/nope/alerting/v3/policies`, policy)).resolves.toMatch(/account_id/);
    await expect(bad(`${base()}/destinations/webhooks`, { name: 'h', url: 'ftp://x' })).resolves.toMatch(/url/);

    const hook = await sys.api(`${base()}/destinations/webhooks`, { method: 'POST', json: { name: 'h', url: hookUrl, secret: 'whsec_e2e_secret_0123456789' } });
    expect(hook.status).toBe(200);
    expect(hook.body.result).toMatchObject({ secret: null, has_secret: true, url: hookUrl });
    const fetched = await sys.api(`${base()}/destinations/webhooks/${hook.body.result.id}`);
    expect(JSON.stringify(fetched.body)).not.toContain('whsec_e2e_secret');

    const created = await sys.api(`${base()}/policies`, { method: 'POST', json: { ...policy, enabled: false } });
    expect(created.body.result).toMatchObject({
      name: 'p',
      enabled: false,
      alert_type: 'expiring_service_token_alert',
      mechanisms: { email: [{ id: 'ops@example.com' }], webhooks: [] },
    });
    const id = created.body.result.id;
    const updated = await sys.api(`${base()}/policies/${id}`, { method: 'PUT', json: { ...policy, name: 'renamed', enabled: false } });
    expect(updated.body.result).toMatchObject({ id, name: 'renamed' });
    await expect(sys.api(`${base()}/policies/${id}`, { method: 'DELETE' })).resolves.toMatchObject({ status: 200 });
    await expect(sys.api(`${base()}/policies/${id}`)).resolves.toMatchObject({ status: 404 });
    await expect(sys.api(`${base()}/destinations/webhooks/${hook.body.result.id}`, { method: 'DELETE' })).resolves.toMatchObject({ status: 200 });
  });

  it('a 72h token alerts every recipient exactly once (email + signed webhook); refresh re-arms; delete cancels', async () => {
    const secret = 'whsec_e2e_signing_secret_42';
    const hook = (await sys.api(`${base()}/destinations/webhooks`, { method: 'POST', json: { name: 'ops', url: hookUrl, secret } })).body.result;
    const policy = await sys.api(`${base()}/policies`, {
      method: 'POST',
      json: {
        name: 'Expiring tokens',
        alert_type: 'expiring_service_token_alert',
        mechanisms: { email: [{ id: 'e2e-a@example.com' }, { id: 'e2e-b@example.com' }], webhooks: [{ id: hook.id }] },
      },
    });
    expect(policy.status).toBe(200);
    const token = (await sys.api(`/client/v4/accounts/${accountId}/access/service_tokens`, { method: 'POST', json: { name: 'deploy-bot', duration: '72h' } }))
      .body.result;
    const expires = (token.expires_at as string).replace(/\.\d{3}Z$/, 'Z');

    await expectEventually(
      () => {
        expect(sink.to('e2e-a@example.com').filter((m) => tokenOf(m) === token.id)).toHaveLength(1);
        expect(sink.to('e2e-b@example.com').filter((m) => tokenOf(m) === token.id)).toHaveLength(1);
        expect(hooks.filter((h) => h.body.includes(token.id))).toHaveLength(1);
      },
      { timeoutMs: 15_000 },
    );
    const mail = sink.to('e2e-a@example.com').find((m) => tokenOf(m) === token.id)!;
    expect(mail.subject).toBe(`[Gatehouse] Service token "deploy-bot" expires on ${expires}`);
    expect(mail.text).toContain('Alerts E2E');
    expect(mail.text).toContain(token.client_id);
    expect(mail.html).toContain(expires);

    // The webhook signature, checked independently of the service's code.
    const delivered = hooks.find((h) => h.body.includes(token.id))!;
    const [, t, v1] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(delivered.headers['x-gatehouse-signature'] as string)!;
    const expected = createHmac('sha256', secret).update(`${t}.${delivered.body}`).digest();
    expect(timingSafeEqual(expected, Buffer.from(v1!, 'hex'))).toBe(true);
    expect(Math.abs(Date.now() / 1000 - Number(t))).toBeLessThan(300);
    // As Cloudflare sends it: the secret in cf-webhook-auth, the body in its webhook payload schema.
    expect(delivered.headers['cf-webhook-auth']).toBe(secret);
    expect(JSON.parse(delivered.body)).toMatchObject({
      name: 'Expiring tokens',
      text: expect.stringContaining('deploy-bot'),
      ts: expect.any(Number),
      account_id: accountId,
      policy_id: policy.body.result.id,
      policy_name: 'Expiring tokens',
      alert_type: 'expiring_service_token_alert',
      alert_correlation_id: expect.any(String),
      alert_event: 'ALERT_STATE_EVENT_START',
      data: { token: { id: token.id, name: 'deploy-bot', client_id: token.client_id, expires_at: expires } },
    });
    const cf = new Cloudflare({ apiToken: sys.adminToken, baseURL: `${sys.apiUrl}/client/v4`, maxRetries: 0 });
    await expectEventually(async () => {
      const dest = await cf.alerting.destinations.webhooks.get(hook.id, { account_id: accountId });
      expect(dest).toMatchObject({ last_success: expect.any(String), last_failure: null });
    });

    const rows = (await history()).filter((r) => r.token.id === token.id);
    expect(rows.map((r) => r.status)).toEqual(['sent', 'sent', 'sent']);
    expect(rows[0]).toMatchObject({
      alert_type: 'expiring_service_token_alert',
      name: 'Expiring tokens',
      token: { name: 'deploy-bot', client_id: token.client_id },
    });

    // Refresh: a new expiry is a new alert for every recipient.
    const refreshed = (await sys.api(`/client/v4/accounts/${accountId}/access/service_tokens/${token.id}/refresh`, { method: 'POST' })).body.result;
    expect(refreshed.expires_at).not.toBe(token.expires_at);
    await expectEventually(
      () => {
        expect(sink.to('e2e-a@example.com').filter((m) => tokenOf(m) === token.id)).toHaveLength(2);
        expect(sink.to('e2e-b@example.com').filter((m) => tokenOf(m) === token.id)).toHaveLength(2);
      },
      { timeoutMs: 15_000 },
    );
    expect(sink.to('e2e-a@example.com').filter((m) => tokenOf(m) === token.id)[1]!.subject).toContain(refreshed.expires_at.replace(/\.\d{3}Z$/, 'Z'));

    // Delete while the webhook is failing: its pending retry is cancelled, nothing more is sent.
    hookStatus = 500;
    try {
      const doomed = (await sys.api(`/client/v4/accounts/${accountId}/access/service_tokens`, { method: 'POST', json: { name: 'doomed', duration: '24h' } }))
        .body.result;
      await expectEventually(
        async () => {
          const row = (await history()).find((r) => r.token.id === doomed.id && r.mechanism_type === 'webhook');
          expect(row).toMatchObject({ status: 'pending', last_error: 'webhook answered HTTP 500' });
        },
        { timeoutMs: 15_000 },
      );
      await expect(sys.api(`${base()}/destinations/webhooks/${hook.id}`)).resolves.toMatchObject({ body: { result: { last_failure: expect.any(String) } } });
      await sys.api(`/client/v4/accounts/${accountId}/access/service_tokens/${doomed.id}`, { method: 'DELETE' });
      await expectEventually(
        async () => {
          const row = (await history()).find((r) => r.token.id === doomed.id && r.mechanism_type === 'webhook');
          expect(row).toMatchObject({ status: 'cancelled', last_error: 'token deleted' });
        },
        { timeoutMs: 15_000 },
      );
    } finally {
      hookStatus = 204;
    }
    await sys.api(`${base()}/policies/${policy.body.result.id}`, { method: 'DELETE' });
  });

  it('kill -9 of the service mid-batch, then a restart, delivers each alert exactly once', async () => {
    const N = 120;
    const tokens: string[] = [];
    for (let i = 0; i < N; i += 20) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(20, N - i) }, (_, j) =>
          sys.api(`/client/v4/accounts/${accountId}/access/service_tokens`, { method: 'POST', json: { name: `crash-${i + j}`, duration: '100h' } }),
        ),
      );
      tokens.push(...batch.map((r) => r.body.result.id as string));
    }
    const recipients = ['crash-a@example.com', 'crash-b@example.com'];
    const ours = () => sink.accepted.filter((m) => recipients.some((r) => sink.to(r).includes(m)) && tokens.includes(tokenOf(m)));

    // Accept 40 messages, then stop answering: the next ones are in flight when the service dies.
    sink.holdAfter = sink.accepted.length + 40;
    const policy = await sys.api(`${base()}/policies`, {
      method: 'POST',
      json: { name: 'Crash test', alert_type: 'expiring_service_token_alert', mechanisms: { email: recipients.map((id) => ({ id })) } },
    });
    expect(policy.status).toBe(200);
    const crashRows = async () => (await history()).filter((r) => r.name === 'Crash test' && tokens.includes(r.token.id));
    await expectEventually(() => expect(sink.held).toBeGreaterThan(0), { timeoutMs: 15_000 });
    // Every accepted message is recorded as sent before the crash; the held ones are "sending".
    await expectEventually(
      async () => {
        const rows = await crashRows();
        expect(rows).toHaveLength(2 * N);
        expect(rows.filter((r) => r.status === 'sent')).toHaveLength(ours().length);
        expect(rows.filter((r) => r.status === 'sending').length).toBeGreaterThan(0);
      },
      { timeoutMs: 15_000 },
    );
    const sentBeforeCrash = ours().length;
    expect(sentBeforeCrash).toBeGreaterThan(0);
    expect(sentBeforeCrash).toBeLessThan(2 * N);

    await sys.processes.get('notification-service')!.kill();
    sink.holdAfter = null;
    startNotifier();

    await expectEventually(() => expect(ours().length).toBeGreaterThanOrEqual(2 * N), { timeoutMs: 30_000, intervalMs: 100 });
    // Every delivery is sent, so nothing is left that could still produce a late duplicate.
    await expectEventually(async () => expect((await crashRows()).filter((r) => r.status === 'sent')).toHaveLength(2 * N), { timeoutMs: 10_000 });
    const mails = ours();
    expect(mails).toHaveLength(2 * N);
    expect(new Set(mails.map((m) => m.messageId)).size).toBe(2 * N);
    for (const r of recipients)
      expect(
        new Set(
          sink
            .to(r)
            .filter((m) => tokens.includes(tokenOf(m)))
            .map(tokenOf),
        ),
      ).toEqual(new Set(tokens));
  }, 90_000);
});
