import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { expectEventually, freePort } from '@gatehouse/testing';
import { simpleParser, type ParsedMail } from 'mailparser';
import pg from 'pg';
import { SMTPServer } from 'smtp-server';
import { startTopology, type Topology } from '../src/topology.js';

/**
 * Failover of the production topology (test/src/topology.ts: 3 clustered nats-servers with R3
 * streams, 2 gateways, 2 token services, 2 notifiers, 1 API, a PostgreSQL of its own), each case
 * under load: a NATS node killed with SIGKILL, a token-service replica killed in a create loop,
 * and PostgreSQL restarted.
 */
const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
function get(url: string, host: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve) => {
    const req = http.request(url, { headers: { host, ...headers }, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve(0)); // a failed request counts as one
    req.end();
  });
}

/** `concurrency` loops per gateway for `ms`, counting answers by status (0: connection failed). */
async function load(gateways: string[], host: string, headers: Record<string, string>, ms: number, concurrency = 3): Promise<Map<number, number>> {
  const counts = new Map<number, number>();
  const until = Date.now() + ms;
  await Promise.all(
    gateways.flatMap((gw) =>
      Array.from({ length: concurrency }, async () => {
        while (Date.now() < until) {
          const status = await get(`${gw}/load`, host, headers);
          counts.set(status, (counts.get(status) ?? 0) + 1);
        }
      }),
    ),
  );
  return counts;
}

const at = (ms: number, fn: () => Promise<unknown>) => new Promise((r) => setTimeout(r, ms)).then(fn);

describe('failover: the production topology under load', () => {
  let topo: Topology;
  let upstream: http.Server;
  let smtp: SMTPServer;
  const mail: ParsedMail[] = [];
  let accountId: string;
  let db: pg.Client;
  const suffix = randomBytes(3).toString('hex');

  const ok = async (path: string, method = 'GET', json?: unknown) => {
    const res = await topo.api(`/client/v4/accounts/${accountId}${path}`, { method, json });
    if (res.status !== 200) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body.result;
  };
  /** An admin change as a careful client makes it: a 503 (the API lost its NATS server mid-request) is retried; anything else must be 200. */
  const change = (path: string, method = 'GET', json?: unknown) =>
    expectEventually(
      async () => {
        const res = await topo.api(`/client/v4/accounts/${accountId}${path}`, { method, json });
        if (res.status === 503) throw new Error(`${method} ${path}: 503`);
        return res;
      },
      { timeoutMs: 10_000, intervalMs: 100 },
    ).then((res) => {
      if (res.status !== 200) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body.result;
    });
  const creds = (t: { client_id: string; client_secret: string }) => ({ 'cf-access-client-id': t.client_id, 'cf-access-client-secret': t.client_secret });
  const app = (name: string, upstreamUrl: string) =>
    ok('/access/apps', 'POST', { name: `${name} ${suffix}`, domain: `${name}-${suffix}.failover.test`, upstream: upstreamUrl });
  const admit = (appId: string, tokenId: string, name: string) =>
    ok(`/access/apps/${appId}/policies`, 'POST', { name, decision: 'non_identity', include: [{ service_token: { token_id: tokenId } }] });
  const everyGateway = (host: string, headers: Record<string, string>, status: number) =>
    Promise.all(topo.gateways.map(async (gw) => expect(await get(`${gw}/probe`, host, headers)).toBe(status)));

  beforeAll(async () => {
    upstream = http.createServer((req, res) => res.end('ok'));
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const smtpPort = await freePort();
    smtp = new SMTPServer({
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      onData: (stream, _s, cb) => void simpleParser(stream).then((m) => (mail.push(m), cb()), cb),
    });
    await new Promise<void>((r) => smtp.listen(smtpPort, '127.0.0.1', () => r()));
    topo = await startTopology({ smtpUrl: `smtp://127.0.0.1:${smtpPort}` });
    accountId = (await topo.api('/client/v4/accounts')).body.result[0].id;
    db = new pg.Client({ connectionString: topo.postgres.url });
    await db.connect();
    db.on('error', () => undefined); // the PostgreSQL restart below ends this connection
  }, 120_000);
  afterAll(async () => {
    await db?.end().catch(() => undefined);
    agent.destroy();
    upstream?.closeAllConnections();
    upstream?.close();
    await new Promise<void>((r) => (smtp ? smtp.close(() => r()) : r()));
    await topo?.stop();
  });

  it('a NATS node killed with SIGKILL: no failed request, changes reach both gateways within 1 s, the access log loses nothing', async () => {
    const upstreamUrl = `http://127.0.0.1:${(upstream.address() as { port: number }).port}`;
    const loadApp = await app('load', upstreamUrl);
    const probeApp = await app('probe', upstreamUrl);
    const loader = await ok('/access/service_tokens', 'POST', { name: `loader-${suffix}` });
    await admit(loadApp.id, loader.id, 'loader');
    const doomed = await ok('/access/service_tokens', 'POST', { name: `doomed-${suffix}` });
    await admit(probeApp.id, doomed.id, 'doomed');
    await expectEventually(async () => {
      await everyGateway(loadApp.domain, creds(loader), 200);
      await everyGateway(probeApp.domain, creds(doomed), 200);
    });

    const lags: number[] = [];
    const changes = async () => {
      await topo.nats.nodes[0]!.kill();
      // A new token admitted, and a token deleted, while one NATS node is gone.
      const fresh = await change('/access/service_tokens', 'POST', { name: `fresh-${suffix}` });
      await expectEventually(() => everyGateway(probeApp.domain, creds(fresh), 403), { timeoutMs: 5000, intervalMs: 20 });
      let t0 = Date.now();
      await change(`/access/apps/${probeApp.id}/policies`, 'POST', {
        name: 'fresh',
        decision: 'non_identity',
        include: [{ service_token: { token_id: fresh.id } }],
      });
      await expectEventually(() => everyGateway(probeApp.domain, creds(fresh), 200), { timeoutMs: 5000, intervalMs: 20 });
      lags.push(Date.now() - t0);
      t0 = Date.now();
      await change(`/access/service_tokens/${doomed.id}`, 'DELETE');
      await expectEventually(() => everyGateway(probeApp.domain, creds(doomed), 401), { timeoutMs: 5000, intervalMs: 20 });
      lags.push(Date.now() - t0);
    };
    const [counts] = await Promise.all([load(topo.gateways, loadApp.domain, creds(loader), 8000), at(2000, changes)]);
    await topo.nats.nodes[0]!.start();

    const served = counts.get(200) ?? 0;
    const interrupted = topo
      .logs()
      .split('\n')
      .filter((l) => l.includes('Access-log consumer interrupted') || l.includes('Access-log consumer stalled')).length;
    console.log(`failover (NATS node killed): ${served} requests, all 200; change lags ${lags.join(' / ')} ms; access-log consumer restarts: ${interrupted}`);
    expect([...counts.keys()]).toEqual([200]);
    expect(served).toBeGreaterThan(50);
    for (const lag of lags) expect(lag).toBeLessThanOrEqual(1000);
    // Every decision of the load reaches the audit log exactly once (decisions are batched with counts).
    await expectEventually(
      async () => {
        const r = await db.query<{ n: string | null }>(
          `SELECT sum((metadata->>'count')::int) AS n FROM audit_events WHERE action = 'access.allowed' AND resource_id = $1`,
          [loadApp.id],
        );
        expect(Number(r.rows[0]?.n ?? 0)).toBe(served + 2); // + the two admission checks before the load
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    ).catch(async (error: Error) => {
      // Where the decisions wait: the stream (not consumed) or nowhere (lost before it).
      const jsz = (await fetch(`${topo.nats.nodes[1]!.monitorUrl}/jsz?streams=1&consumers=1`)
        .then((r) => r.json())
        .catch(() => null)) as { account_details?: Array<{ stream_detail?: unknown }> } | null;
      throw new Error(`${error.message}\nJetStream: ${JSON.stringify(jsz?.account_details?.[0]?.stream_detail ?? jsz)}\n${topo.logs().slice(-4000)}`);
    });
  }, 90_000);

  it('a token-service replica killed with SIGKILL in a create loop: no 500, every create answered 200 exists', async () => {
    const victim = topo.processes.find((p) => p.name === 'token-service')!;
    const results: Array<{ status: number; id?: string }> = [];
    const until = Date.now() + 6000;
    let n = 0;
    const loop = async () => {
      while (Date.now() < until) {
        const res = await topo.api(`/client/v4/accounts/${accountId}/access/service_tokens`, { method: 'POST', json: { name: `loop-${suffix}-${n++}` } });
        results.push({ status: res.status, id: res.body?.result?.id });
      }
    };
    await Promise.all([loop(), loop(), loop(), at(2000, () => victim.kill())]);
    topo.processes.splice(topo.processes.indexOf(victim), 1);
    topo.startReplica('token-service');

    expect(results.filter((r) => r.status === 500)).toEqual([]);
    expect(results.filter((r) => r.status !== 200 && r.status !== 503)).toEqual([]);
    const created = results.filter((r) => r.status === 200);
    expect(created.length).toBeGreaterThan(10);
    for (const r of created) expect((await topo.api(`/client/v4/accounts/${accountId}/access/service_tokens/${r.id}`)).status).toBe(200);
  }, 90_000);

  it('PostgreSQL restarted: every service recovers by itself, and a 72h token alerts each recipient exactly once', async () => {
    const recipients = [`a-${suffix}@example.com`, `b-${suffix}@example.com`];
    await ok('/alerting/v3/policies', 'POST', {
      name: `expiring ${suffix}`,
      alert_type: 'expiring_service_token_alert',
      enabled: true,
      mechanisms: { email: recipients.map((id) => ({ id })) },
    });
    await topo.postgres.restart(1500);

    // The services reconnect on their own: a token can be created, and both gateways admit it.
    const upstreamUrl = `http://127.0.0.1:${(upstream.address() as { port: number }).port}`;
    const after = await expectEventually(() => app('after', upstreamUrl), { timeoutMs: 30_000, intervalMs: 500 });
    const soon = await ok('/access/service_tokens', 'POST', { name: `soon-${suffix}`, duration: '72h' });
    await admit(after.id, soon.id, 'soon');
    await expectEventually(() => everyGateway(after.domain, creds(soon), 200), { timeoutMs: 10_000 });

    const mailsFor = (to: string) => mail.filter((m) => m.subject?.includes(soon.name) && JSON.stringify(m.to).includes(to));
    await expectEventually(
      () => {
        for (const r of recipients) expect(mailsFor(r)).toHaveLength(1);
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    // Both notifiers run: neither sends it a second time (a few more scheduler ticks).
    await new Promise((r) => setTimeout(r, 2000));
    for (const r of recipients) expect(mailsFor(r)).toHaveLength(1);
  }, 120_000);
});
