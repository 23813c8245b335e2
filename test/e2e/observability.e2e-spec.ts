import { readFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { expectEventually, freePort } from '@gatehouse/testing';
import { ROOT, startSystem, type System } from '../src/system.js';

const SERVICES = ['api', 'gateway', 'token-service', 'notification-service'] as const;
type Service = (typeof SERVICES)[number];
const PORT_VARS: Record<Service, string> = {
  api: 'GATEHOUSE_API_MANAGEMENT_PORT',
  gateway: 'GATEHOUSE_GATEWAY_MANAGEMENT_PORT',
  'token-service': 'GATEHOUSE_TOKEN_SERVICE_MANAGEMENT_PORT',
  'notification-service': 'GATEHOUSE_NOTIFICATION_SERVICE_MANAGEMENT_PORT',
};

/** The value of one series (exact labels, `service` included) in Prometheus text, or undefined. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const want = Object.entries(labels)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}="${v}"`)
    .join(',');
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = (m[2] ?? '')
      .split(/,(?=[a-zA-Z_]\w*=")/)
      .filter(Boolean)
      .sort()
      .join(',');
    if (got === want) return Number(m[3]);
  }
  return undefined;
}

/**
 * The management ports of all four services (real processes): named series exist and move with
 * what the system does, /readyz follows NATS, and no log line of the run holds a secret it made.
 */
describe('metrics, health and logs (real processes)', () => {
  let sys: System;
  const ports = {} as Record<Service, number>;
  const secrets: string[] = [];
  let upstream: http.Server;
  let gatewayPort: number;
  let base: string;
  /** Every service's output once all four are ready. */
  let startup: Array<[string, string]> = [];

  const management = (s: Service, path: string) => fetch(`http://127.0.0.1:${ports[s]}${path}`);
  const metrics = async (s: Service) => {
    const res = await management(s, '/metrics');
    expect(res.status).toBe(200);
    return res.text();
  };
  const ready = async (s: Service) => (await management(s, '/readyz')).status;
  const call = (host: string, headers: Record<string, string> = {}) =>
    new Promise<number>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: gatewayPort, path: '/', headers: { host, ...headers } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode!));
      });
      req.on('error', reject);
      req.end();
    });
  const ok = async (path: string, method: string, json?: unknown) => {
    const res = await sys.api(`${base}${path}`, { method, json });
    if (res.status !== 200) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body.result;
  };

  beforeAll(async () => {
    upstream = http.createServer((_req, res) => res.end('upstream'));
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    for (const s of SERVICES) ports[s] = await freePort();
    gatewayPort = await freePort();
    const env: Record<string, string> = { GATEHOUSE_LOG_LEVEL: 'debug' };
    for (const s of SERVICES) env[PORT_VARS[s]] = String(ports[s]);
    sys = await startSystem({
      env,
      extra: [
        { name: 'auth-service', migrate: true, env: { GATEHOUSE_GATEWAY_PORT: String(gatewayPort), GATEHOUSE_RESYNC_INTERVAL_MS: '1000' } },
        {
          name: 'notification-service',
          migrate: true,
          env: { SMTP_URL: `smtp://127.0.0.1:${await freePort()}`, GATEHOUSE_NOTIFY_TICK_MS: '200', GATEHOUSE_NOTIFY_RETRY_BASE_MS: '200' },
        },
      ],
    });
    secrets.push(sys.adminToken, sys.hashKey);
    base = `/client/v4/accounts/${await sys.defaultAccountId()}`;
    await expectEventually(
      async () => {
        for (const s of SERVICES) expect([s, await ready(s)]).toEqual([s, 200]);
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    ).catch((e) => {
      throw new Error(`not ready: ${(e as Error).message}\n${sys.logs()}`);
    });
    startup = [...sys.processes].map(([name, p]) => [name, p.output.join('')]);
  });
  afterAll(async () => {
    upstream?.close();
    await sys?.stop();
  });

  it('every service serves process metrics and /healthz', async () => {
    for (const s of SERVICES) {
      const text = await metrics(s);
      expect(sample(text, 'process_resident_memory_bytes', { service: s })).toBeGreaterThan(0);
      expect(text).toMatch(new RegExp(`^nodejs_eventloop_lag_seconds\\{service="${s}"\\} `, 'm'));
      expect((await management(s, '/healthz')).status).toBe(200);
    }
  });

  it('gateway: decisions by app, result and reason; durations; upstream errors; replica and NATS state', async () => {
    const token = await ok('/access/service_tokens', 'POST', { name: 'metrics-token' });
    secrets.push(token.client_secret);
    const app = await ok('/access/apps', 'POST', {
      name: 'metrics-app',
      domain: 'metrics.localhost',
      upstream: `http://127.0.0.1:${(upstream.address() as { port: number }).port}`,
    });
    const broken = await ok('/access/apps', 'POST', { name: 'metrics-broken', domain: 'broken.localhost', upstream: `http://127.0.0.1:${await freePort()}` });
    for (const a of [app, broken])
      await ok(`/access/apps/${a.id}/policies`, 'POST', { name: 'm', decision: 'non_identity', include: [{ service_token: { token_id: token.id } }] });
    const creds = { 'cf-access-client-id': token.client_id, 'cf-access-client-secret': token.client_secret };
    await expectEventually(async () => expect(await call('metrics.localhost', creds)).toBe(200), { timeoutMs: 10_000 });

    const before = await metrics('gateway');
    const allowed = { app: 'metrics-app', result: 'allow', reason: 'admitted', service: 'gateway' };
    const wrong = { app: 'metrics-app', result: 'deny', reason: 'wrong_secret', service: 'gateway' };
    expect(await call('metrics.localhost', creds)).toBe(200);
    expect(await call('metrics.localhost', { ...creds, 'cf-access-client-secret': `${token.client_secret.slice(0, -4)}AAAA` })).toBe(401);
    expect(await call('broken.localhost', creds)).toBe(502);
    const after = await metrics('gateway');
    expect(sample(after, 'gatehouse_gateway_decisions_total', allowed)).toBe((sample(before, 'gatehouse_gateway_decisions_total', allowed) ?? 0) + 1);
    expect(sample(after, 'gatehouse_gateway_decisions_total', wrong)).toBe((sample(before, 'gatehouse_gateway_decisions_total', wrong) ?? 0) + 1);
    expect(sample(after, 'gatehouse_gateway_upstream_errors_total', { kind: 'upstream_unreachable', service: 'gateway' })).toBe(1);
    const count = (t: string, n: string) => sample(t, n, { service: 'gateway' })!;
    expect(count(after, 'gatehouse_gateway_request_duration_seconds_count') - count(before, 'gatehouse_gateway_request_duration_seconds_count')).toBe(3);
    expect(count(after, 'gatehouse_gateway_added_seconds_count') - count(before, 'gatehouse_gateway_added_seconds_count')).toBe(2);
    expect(sample(after, 'gatehouse_gateway_added_seconds_bucket', { le: '+Inf', service: 'gateway' })).toBe(
      count(after, 'gatehouse_gateway_added_seconds_count'),
    );
    expect(count(after, 'gatehouse_gateway_replica_revision')).toBeGreaterThan(0);
    expect(count(after, 'gatehouse_gateway_replica_revision_lag')).toBe(0);
    expect(count(after, 'gatehouse_gateway_replica_sync_age_seconds')).toBeGreaterThanOrEqual(0);
    expect(count(after, 'gatehouse_gateway_replica_last_sync_timestamp_seconds')).toBeGreaterThan(Date.now() / 1000 - 600);
    expect(count(after, 'gatehouse_gateway_nats_connected')).toBe(1);
    expect(count(after, 'gatehouse_gateway_access_log_pending')).toBeGreaterThanOrEqual(0);
    expect(count(after, 'gatehouse_gateway_access_log_dropped')).toBe(0);
    expect(count(after, 'gatehouse_gateway_open_connections')).toBeGreaterThanOrEqual(0);
    expect(count(after, 'gatehouse_gateway_open_tunnels')).toBe(0);
  });

  it('token service: RPC duration and errors by subject', async () => {
    const before = await metrics('token-service');
    const created = await ok('/access/service_tokens', 'POST', { name: 'rpc-metrics' });
    secrets.push(created.client_secret);
    expect((await sys.api(`${base}/access/service_tokens/00000000-0000-4000-8000-000000000000`)).status).toBe(404);
    const after = await metrics('token-service');
    const n = (t: string, subject: string) => sample(t, 'gatehouse_rpc_duration_seconds_count', { subject, service: 'token-service' }) ?? 0;
    expect(n(after, 'tokens.v1.create') - n(before, 'tokens.v1.create')).toBe(1);
    expect(n(after, 'tokens.v1.get')).toBeGreaterThanOrEqual(1);
    const notFound = { subject: 'tokens.v1.get', code: 'NOT_FOUND', service: 'token-service' };
    expect(sample(after, 'gatehouse_rpc_errors_total', notFound)).toBe((sample(before, 'gatehouse_rpc_errors_total', notFound) ?? 0) + 1);
  });

  it('notification service: outbox depth, oldest pending age, deliveries by mechanism and result', async () => {
    const hook = await ok('/alerting/v3/destinations/webhooks', 'POST', {
      name: 'm',
      url: `http://127.0.0.1:${await freePort()}/hook`,
      secret: 'whsec-metrics-e2e-0123456789abcdef',
    });
    secrets.push('whsec-metrics-e2e-0123456789abcdef');
    await ok('/alerting/v3/policies', 'POST', {
      name: 'metrics',
      alert_type: 'expiring_service_token_alert',
      mechanisms: { email: [{ id: 'ops@example.test' }], webhooks: [{ id: hook.id }] },
    });
    const expiring = await ok('/access/service_tokens', 'POST', { name: 'metrics-expiring', duration: '24h' });
    secrets.push(expiring.client_secret);
    await expectEventually(
      async () => {
        const text = await metrics('notification-service');
        // The mail server and the webhook are unreachable: attempts fail and are retried.
        expect(
          sample(text, 'gatehouse_alert_deliveries_total', { mechanism: 'email', result: 'retry', service: 'notification-service' }),
        ).toBeGreaterThanOrEqual(1);
        expect(
          sample(text, 'gatehouse_alert_deliveries_total', { mechanism: 'webhook', result: 'retry', service: 'notification-service' }),
        ).toBeGreaterThanOrEqual(1);
        expect(sample(text, 'gatehouse_alert_outbox_depth', { service: 'notification-service' })).toBe(2);
        expect(sample(text, 'gatehouse_alert_outbox_oldest_pending_age_seconds', { service: 'notification-service' })).toBeGreaterThan(0);
      },
      { timeoutMs: 20_000, intervalMs: 300 },
    );
  });

  it('api: requests by method, route pattern and status (ids never become labels)', async () => {
    const created = await ok('/access/service_tokens', 'POST', { name: 'api-metrics' });
    secrets.push(created.client_secret);
    expect((await sys.api(`${base}/access/service_tokens/not-a-uuid`)).status).toBe(400);
    expect((await sys.api('/client/v4/nothing-here')).status).toBe(404);
    const text = await metrics('api');
    const route = '/client/v4/accounts/:account_id/access/service_tokens';
    expect(sample(text, 'gatehouse_api_requests_total', { method: 'POST', route, status: '200', service: 'api' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'gatehouse_api_requests_total', { method: 'GET', route: `${route}/:token_id`, status: '400', service: 'api' })).toBe(1);
    expect(sample(text, 'gatehouse_api_requests_total', { method: 'GET', route: 'unmatched', status: '404', service: 'api' })).toBe(1);
    expect(text).not.toContain(created.id);
  });

  it('/readyz answers 503 while NATS is down and 200 again once it is back; /healthz stays 200', async () => {
    await sys.nats.pause();
    try {
      await expectEventually(
        async () => {
          for (const s of SERVICES) expect([s, await ready(s)]).toEqual([s, 503]);
        },
        { timeoutMs: 20_000, intervalMs: 200 },
      );
      const body = await (await management('token-service', '/readyz')).json();
      expect(body).toMatchObject({ status: 'not ready', checks: { database: 'up', nats: expect.stringMatching(/^down/) } });
      for (const s of SERVICES) expect((await management(s, '/healthz')).status).toBe(200);
      expect(sample(await metrics('gateway'), 'gatehouse_gateway_nats_connected', { service: 'gateway' })).toBe(0);
    } finally {
      await sys.nats.resume();
    }
    await expectEventually(
      async () => {
        for (const s of SERVICES) expect([s, await ready(s)]).toEqual([s, 200]);
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
  });

  it('the Grafana dashboard and the Prometheus rules in infra/ name only series the services expose', async () => {
    const exposed = new Set<string>();
    for (const s of SERVICES) for (const m of (await metrics(s)).matchAll(/^# TYPE (\S+) (\w+)$/gm)) exposed.add(m[1]!);
    const files = ['infra/grafana/gatehouse.dashboard.json', 'infra/prometheus/alerts.yaml'];
    const named = new Set<string>();
    for (const f of files) for (const m of readFileSync(join(ROOT, f), 'utf8').matchAll(/\b(?:gatehouse|process|nodejs)_[a-z0-9_]+\b/g)) named.add(m[0]);
    const unknown = [...named].filter((n) => !exposed.has(n) && !exposed.has(n.replace(/_(bucket|count|sum)$/, '')));
    expect(named.size).toBeGreaterThan(15);
    expect(unknown).toEqual([]);
  });

  it('a normal start logs no warning or error', () => {
    const loud = startup.flatMap(([name, text]) =>
      text
        .split('\n')
        .filter((l) => /"level":(4|5|6)\d/.test(l))
        .map((l) => `${name}: ${l}`),
    );
    expect(loud).toEqual([]);
  });

  it('the gateway logs every decision at debug level with the ray id its answer carried in Cf-Ray', async () => {
    const rayOf = (host: string, headers: Record<string, string>) =>
      new Promise<{ status: number; ray: string }>((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port: gatewayPort, path: '/', headers: { host, ...headers } }, (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode!, ray: String(res.headers['cf-ray']) }));
        });
        req.on('error', reject);
        req.end();
      });
    const refused = await rayOf('metrics.localhost', { 'cf-access-client-id': 'not-a-client.access', 'cf-access-client-secret': 'nope' });
    expect(refused.status).toBe(401);
    expect(refused.ray).toMatch(/^[0-9a-f]{16}$/);
    const line = await expectEventually(() => {
      const found = sys.processes
        .get('auth-service')!
        .output.join('')
        .split('\n')
        .find((l) => l.includes(refused.ray));
      expect(found).toBeDefined();
      return JSON.parse(found!) as Record<string, unknown>;
    });
    expect(line).toMatchObject({
      msg: 'access decision',
      ray_id: refused.ray,
      app: 'metrics-app',
      result: 'deny',
      via: 'service_token',
      client_id: 'not-a-client.access',
    });
    expect(JSON.stringify(line)).not.toContain('nope');
  });

  it('every service logs JSON lines (stdout is not a terminal) with level, time and service; no colour codes', () => {
    const names: Record<string, string> = {
      api: 'api',
      'auth-service': 'gateway',
      'token-service': 'token-service',
      'notification-service': 'notification-service',
    };
    for (const [name, p] of sys.processes) {
      const lines = p.output.join('').split('\n').filter(Boolean);
      expect([name, lines.length > 0]).toEqual([name, true]);
      for (const line of lines) {
        expect(line).not.toContain('\x1b[');
        let entry: Record<string, unknown>;
        try {
          entry = JSON.parse(line);
        } catch {
          throw new Error(`${name} logged a line that is not JSON: ${line.slice(0, 200)}`);
        }
        expect(entry).toMatchObject({ service: names[name], level: expect.any(Number), time: expect.any(String), msg: expect.any(String) });
      }
    }
  });

  it('no log line of the run holds a secret it created (client secrets, admin token, hash key, webhook secret)', async () => {
    const logs = sys.logs();
    expect(logs.length).toBeGreaterThan(0);
    expect(secrets.length).toBeGreaterThanOrEqual(6);
    for (const secret of secrets) expect(logs.includes(secret) ? `found in logs: ${secret.slice(0, 6)}…` : 'absent').toBe('absent');
  });
});
