import http from 'node:http';
import net from 'node:net';
import { generateClientSecret, hashClientSecret } from '@gatehouse/contracts';
import { createTestDatabase, expectEventually, freePort, type TestDatabase } from '@gatehouse/testing';
import { simpleParser, type ParsedMail } from 'mailparser';
import pg from 'pg';
import { SMTPServer } from 'smtp-server';
import { runOnce, runService, startSystem, type System } from '../src/system.js';

/**
 * Replication at fleet size, end to end (real processes): thousands of tokens seeded through the token
 * service's schema, a nats-server with max_payload 65536 (pages must stay below it), every
 * service restarted, a gateway cut off from NATS while tokens are deleted, and a change committed
 * without its event (a crash between commit and publish).
 */

/** The 20,000 (GATEHOUSE_FLEET_E2E_TOKENS to try others; ≥ 3,000 is what one 1 MB message could not hold). */
const SEEDED = Number(process.env.GATEHOUSE_FLEET_E2E_TOKENS ?? 20_000);

/** A TCP relay in front of nats-server that the test can cut, so one client loses NATS alone. */
class Relay {
  private server?: net.Server;
  private sockets = new Set<net.Socket>();
  port = 0;
  constructor(private readonly target: number) {}

  async open(): Promise<void> {
    this.port ||= await freePort();
    this.server = net.createServer((c) => {
      const u = net.connect(this.target, '127.0.0.1');
      for (const s of [c, u]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => s.destroy());
      }
      c.pipe(u).pipe(c);
    });
    await new Promise<void>((r) => this.server!.listen(this.port, '127.0.0.1', r));
  }

  async cut(): Promise<void> {
    const closed = new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }
}

describe(`fleet replication (${SEEDED} tokens, max_payload 65536, real processes)`, () => {
  let sys: System;
  let relay: Relay;
  let notifyDb: TestDatabase;
  let gwDb: TestDatabase;
  let gwEnv: Record<string, string>;
  let notifyEnv: Record<string, string>;
  let gw: string;
  let accountId: string;
  let upstream: http.Server;
  const mails: ParsedMail[] = [];
  let smtp: SMTPServer;
  const secret = generateClientSecret();
  const host = 'fleet.e2e.test';
  let firstId = '';
  let lastId = '';

  const get = (headers: Record<string, string>, path = '/') =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(`${gw}${path}`, { headers: { host, ...headers }, agent: false }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      });
      req.on('error', reject);
      req.end();
    });
  const seeded = (clientId: string) => get({ 'cf-access-client-id': clientId, 'cf-access-client-secret': secret });
  const withDb = async <T>(fn: (c: pg.Client) => Promise<T>): Promise<T> => {
    const c = new pg.Client({ connectionString: sys.tokenDb.url });
    await c.connect();
    try {
      return await fn(c);
    } finally {
      await c.end();
    }
  };
  const startGateway = () => sys.processes.set('auth-service', runService('auth-service', gwEnv));
  const startNotifier = () => sys.processes.set('notification-service', runService('notification-service', notifyEnv));
  const ok = async (path: string, method = 'GET', json?: unknown) => {
    const res = await sys.api(`/client/v4/accounts/${accountId}${path}`, { method, json });
    if (res.status !== 200) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body.result;
  };

  beforeAll(async () => {
    smtp = new SMTPServer({
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      onData: (stream, _s, cb) => void simpleParser(stream).then((m) => (mails.push(m), cb()), cb),
    });
    const smtpPort = await freePort();
    await new Promise<void>((r) => smtp.listen(smtpPort, '127.0.0.1', r));
    upstream = http.createServer((_req, res) => res.end('upstream'));
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));

    sys = await startSystem({ nats: { maxPayload: 65_536 } });
    accountId = await sys.defaultAccountId();
    // Seed through the token service's schema: one revision for the whole batch, as one change would.
    [firstId, lastId] = await withDb(async (c) => {
      await c.query('BEGIN');
      const { rows } = await c.query(`SELECT replica_next_revision() AS revision`);
      const ids = await c.query(
        `INSERT INTO service_tokens (account_id, name, client_id, duration, secret_hash, expires_at, created_at, updated_at, revision)
         SELECT $1, 'fleet-' || g, 'fleet' || lpad(g::text, 8, '0') || '.access', '8760h', $2, now() + interval '365 days', now(), now(), $3
           FROM generate_series(1, $4) g RETURNING client_id`,
        [accountId, hashClientSecret(sys.hashKey, secret), rows[0].revision, SEEDED],
      );
      await c.query('COMMIT');
      return [ids.rows[0].client_id as string, ids.rows.at(-1).client_id as string];
    });
    const app = await ok('/access/apps', 'POST', { name: 'fleet', domain: host, upstream: `http://127.0.0.1:${(upstream.address() as net.AddressInfo).port}` });
    await ok(`/access/apps/${app.id}/policies`, 'POST', { name: 'any', decision: 'non_identity', include: [{ any_valid_service_token: {} }] });

    relay = new Relay(sys.nats.port);
    await relay.open();
    const gwPort = await freePort();
    gw = `http://127.0.0.1:${gwPort}`;
    gwDb = await createTestDatabase();
    gwEnv = {
      ...sys.serviceEnv('auth-service'),
      NATS_URL: `nats://127.0.0.1:${relay.port}`,
      DATABASE_URL: gwDb.url,
      GATEHOUSE_GATEWAY_PORT: String(gwPort),
      GATEHOUSE_TEAM_URL: gw,
      GATEHOUSE_RESYNC_INTERVAL_MS: '1000',
    };
    await runOnce('auth-service', 'migrate.js', gwEnv);
    notifyDb = await createTestDatabase(undefined, 'gh_e2e_fleet_notify');
    notifyEnv = {
      ...sys.serviceEnv('notification-service'),
      DATABASE_URL: notifyDb.url,
      SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
      GATEHOUSE_NOTIFY_TICK_MS: '200',
      GATEHOUSE_NOTIFY_RESYNC_MS: '1000',
    };
    await runOnce('notification-service', 'migrate.js', notifyEnv);
    const t0 = Date.now();
    startGateway();
    startNotifier();
    await expectEventually(async () => expect((await seeded(lastId)).status).toBe(200), { timeoutMs: 30_000, intervalMs: 200 }).catch((e) => {
      throw new Error(`${(e as Error).message}\n${sys.logs()}`);
    });
    console.log(`${SEEDED} tokens: gateway serving ${Date.now() - t0} ms after its process started`);
  }, 120_000);

  afterAll(async () => {
    await sys?.stop();
    await relay?.cut();
    await notifyDb?.drop();
    await gwDb?.drop();
    await new Promise<void>((r) => smtp.close(() => r()));
    upstream?.close();
  });

  it('after every service restarts, admits the first and the last token within 20 s and alerts a new 72h token once per recipient', async () => {
    await Promise.all([...sys.processes.values()].map((p) => p.stop()));
    const restartedAt = Date.now();
    sys.processes.set('token-service', runService('token-service', { ...sys.serviceEnv('token-service'), DATABASE_URL: sys.tokenDb.url }));
    sys.processes.set('api', runService('api', sys.serviceEnv('api')));
    startGateway();
    startNotifier();
    await expectEventually(
      async () => {
        expect((await seeded(firstId)).status).toBe(200);
        expect((await seeded(lastId)).status).toBe(200);
      },
      { timeoutMs: 20_000, intervalMs: 100 },
    ).catch((e) => {
      throw new Error(`${(e as Error).message}\n${sys.logs()}`);
    });
    console.log(`${SEEDED} tokens: first and last admitted ${Date.now() - restartedAt} ms after every service restarted`);

    const recipients = ['fleet-a@example.com', 'fleet-b@example.com'];
    await expectEventually(
      () =>
        ok('/alerting/v3/policies', 'POST', {
          name: 'fleet',
          alert_type: 'expiring_service_token_alert',
          mechanisms: { email: recipients.map((id) => ({ id })) },
        }),
      {
        timeoutMs: 20_000,
        intervalMs: 200,
      },
    );
    const token = await ok('/access/service_tokens', 'POST', { name: 'fleet-72h', duration: '72h' });
    const forToken = () => mails.filter((m) => m.headers.get('x-gatehouse-token-id') === token.id);
    await expectEventually(() => expect(forToken()).toHaveLength(2), { timeoutMs: 20_000 });
    // Both deliveries are recorded as sent: nothing is pending that could send a second copy.
    await expectEventually(async () => {
      const history = (await ok('/alerting/v3/history?per_page=100')) as Array<{ token: { id?: string; client_id: string }; status?: string }>;
      expect(history.filter((h) => h.token.client_id === token.client_id)).toHaveLength(2);
    });
    const to = (m: ParsedMail) => (Array.isArray(m.to) ? m.to : [m.to]).flatMap((t) => t?.value.map((v) => v.address) ?? []);
    expect(forToken().flatMap(to).sort()).toEqual(recipients);
  }, 90_000);

  it('a gateway cut off from NATS while tokens are deleted refuses them within 1 s of reconnecting', async () => {
    const t = await ok('/access/service_tokens', 'POST', { name: 'fleet-cut' });
    const creds = { 'cf-access-client-id': t.client_id, 'cf-access-client-secret': t.client_secret };
    await expectEventually(async () => expect((await get(creds)).status).toBe(200), { timeoutMs: 5000 });
    await relay.cut();
    try {
      await ok(`/access/service_tokens/${t.id}`, 'DELETE');
      expect((await get(creds)).status).toBe(200); // it cannot know yet
    } finally {
      await relay.open();
    }
    await expectEventually(async () => expect((await get(creds)).status).toBe(401), { timeoutMs: 1000, intervalMs: 50 });
  }, 30_000);

  it('a change committed without its event (token service killed between commit and publish) still reaches the gateway', async () => {
    await sys.processes.get('token-service')!.kill();
    // What a crash right after the commit leaves behind: the change (as the ledger writes it), no event.
    const victim = `fleet${String(SEEDED / 2).padStart(8, '0')}.access`;
    expect((await seeded(victim)).status).toBe(200);
    await withDb(async (c) => {
      await c.query('BEGIN');
      const { rows } = await c.query(`SELECT replica_next_revision() AS revision`);
      const gone = await c.query(`DELETE FROM service_tokens WHERE client_id = $1 RETURNING id`, [victim]);
      await c.query(`INSERT INTO replica_tombstones (id, entity, revision, deleted_at) VALUES ($1, 'token', $2, now())`, [gone.rows[0].id, rows[0].revision]);
      await c.query('COMMIT');
    });
    sys.processes.set('token-service', runService('token-service', { ...sys.serviceEnv('token-service'), DATABASE_URL: sys.tokenDb.url }));
    await expectEventually(async () => expect((await seeded(victim)).status).toBe(401), { timeoutMs: 15_000, intervalMs: 100 });
    expect((await seeded(lastId)).status).toBe(200);
  }, 30_000);
});
