import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { expectEventually, freePort } from '@gatehouse/testing';
import { startSystem, type System } from '../src/system.js';

/**
 * GATEHOUSE_GATEWAY_WORKERS=2: two gateway processes on one port (node:cluster). Connections are
 * spread over both; the primary's management port sums their metrics and is ready when both are;
 * rate-limit failures are shared, so the limit holds across workers; a dead worker is replaced.
 */
function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    // A new connection each time: the primary hands connections, not requests, to workers.
    const req = http.get(url, { headers, agent: false }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    // A connection handed to a worker as it dies gets no answer: give up on it, ask again.
    req.setTimeout(2000, () => req.destroy(new Error('no answer within 2 s')));
  });
}

describe('gateway workers', () => {
  let sys: System;
  let gw: string;
  let mgmt: string;
  let accountId: string;
  const suffix = randomBytes(3).toString('hex');
  const host = `workers-${suffix}.gateway.test`;
  let upstream: http.Server;

  const pidOf = async () => JSON.parse((await get(`${gw}/cdn-cgi/access/health`)).body).pid as number;
  const pids = async (n = 40) => new Set(await Promise.all(Array.from({ length: n }, pidOf)));

  beforeAll(async () => {
    upstream = http.createServer((_req, res) => res.end('ok'));
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const port = await freePort();
    const mgmtPort = await freePort();
    gw = `http://127.0.0.1:${port}`;
    mgmt = `http://127.0.0.1:${mgmtPort}`;
    sys = await startSystem({
      extra: [
        {
          name: 'auth-service',
          migrate: true,
          env: {
            GATEHOUSE_GATEWAY_WORKERS: '2',
            GATEHOUSE_GATEWAY_PORT: String(port),
            GATEHOUSE_GATEWAY_MANAGEMENT_PORT: String(mgmtPort),
            GATEHOUSE_TEAM_URL: gw,
            GATEHOUSE_HEALTH_DETAILS: 'true',
            GATEHOUSE_RATE_LIMIT_BURST: '4',
            GATEHOUSE_RATE_LIMIT_PER_MINUTE: '1',
          },
        },
      ],
    });
    accountId = await sys.defaultAccountId();
    const app = (
      await sys.api(`/client/v4/accounts/${accountId}/access/apps`, {
        method: 'POST',
        json: { name: `w ${suffix}`, domain: host, upstream: `http://127.0.0.1:${(upstream.address() as { port: number }).port}` },
      })
    ).body.result;
    await sys.api(`/client/v4/accounts/${accountId}/access/apps/${app.id}/policies`, {
      method: 'POST',
      json: { name: 'any', decision: 'non_identity', include: [{ any_valid_service_token: {} }] },
    });
    await expectEventually(async () => expect((await get(`${mgmt}/readyz`)).status).toBe(200), { timeoutMs: 30_000, intervalMs: 200 }).catch((e: Error) => {
      throw new Error(`${e.message}\n${sys.logs()}`);
    });
  }, 90_000);
  afterAll(async () => {
    upstream?.close();
    await sys?.stop();
  });

  it('spreads connections over two worker processes, each a whole gateway', async () => {
    await expectEventually(async () => expect((await pids()).size).toBe(2), { timeoutMs: 10_000 });
    const t = (await sys.api(`/client/v4/accounts/${accountId}/access/service_tokens`, { method: 'POST', json: { name: `w-${suffix}` } })).body.result;
    const creds = { host, 'cf-access-client-id': t.client_id, 'cf-access-client-secret': t.client_secret };
    // Both replicas learn the new token (each worker follows the change feed itself).
    await expectEventually(async () => {
      const statuses = await Promise.all(Array.from({ length: 20 }, () => get(`${gw}/`, creds).then((r) => r.status)));
      expect(new Set(statuses)).toEqual(new Set([200]));
    });
  });

  it('sums the workers’ metrics on the primary’s management port', async () => {
    const t = (await sys.api(`/client/v4/accounts/${accountId}/access/service_tokens`, { method: 'POST', json: { name: `m-${suffix}` } })).body.result;
    const creds = { host, 'cf-access-client-id': t.client_id, 'cf-access-client-secret': t.client_secret };
    await expectEventually(async () => expect((await get(`${gw}/`, creds)).status).toBe(200));
    const total = async () => {
      const text = (await get(`${mgmt}/metrics`)).body;
      return [...text.matchAll(/^gatehouse_gateway_decisions_total\{[^}]*result="allow"[^}]*\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
    };
    const before = await total();
    for (let i = 0; i < 30; i++) expect((await get(`${gw}/`, creds)).status).toBe(200);
    await expect(total()).resolves.toBe(before + 30);
  });

  it('holds a rate limit across workers: failures seen by one are counted by the other', async () => {
    const creds = { host, 'cf-access-client-id': `${randomBytes(16).toString('hex')}.access`, 'cf-access-client-secret': `gatehouse_${'x'.repeat(49)}` };
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push((await get(`${gw}/`, creds)).status);
    // Burst 4 in all: 4 refusals for the bad secret, then 429 from whichever worker answers.
    expect(statuses.slice(0, 4)).toEqual([401, 401, 401, 401]);
    expect(statuses.slice(5)).toEqual(Array(7).fill(429));
  });

  it('replaces a worker that dies', async () => {
    const before = await pids();
    expect(before.size).toBe(2);
    const victim = [...before][0]!;
    process.kill(victim, 'SIGKILL');
    await expectEventually(
      async () => {
        const now = await pids();
        expect(now.size).toBe(2);
        expect(now.has(victim)).toBe(false);
      },
      { timeoutMs: 20_000, intervalMs: 200 },
    );
    await expectEventually(async () => expect((await get(`${mgmt}/readyz`)).status).toBe(200), { timeoutMs: 20_000, intervalMs: 200 });
  }, 60_000);
});
