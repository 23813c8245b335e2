import http from 'node:http';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { expectEventually } from '@gatehouse/testing';
import { runService, startSystem, type System } from '../src/system.js';

/**
 * GATEHOUSE_GATEWAY_WORKERS=2: two gateway processes on one port (node:cluster). Connections are
 * spread over both; the primary's management port sums their metrics and is ready when both are;
 * rate-limit failures are shared, so the limit holds across workers; a dead worker is replaced.
 * GATEHOUSE_GATEWAY_BALANCE=kernel (the default): each worker has a listening socket of its own on
 * the port, and the primary none; =primary: the primary holds the one listening socket.
 */

/**
 * A port free now, below the kernel's range of source ports (ip_local_port_range): the gateway
 * binds it seconds later, after its own outgoing connections (NATS, PostgreSQL) and everyone
 * else's, and a port from that range (freePort's) can meanwhile be taken as one's source port.
 */
async function listenPort(): Promise<number> {
  const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
  for (;;) {
    const port = 10_000 + Math.floor(Math.random() * (low! - 10_000));
    const free = await new Promise<boolean>((resolve) => {
      const probe = net.createServer();
      probe.once('error', () => resolve(false));
      probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
    });
    if (free) return port;
  }
}

/** Every listening IPv4 socket (/proc/net/tcp: state 0A): its inode and its port. */
function listeningSockets(): Map<string, number> {
  const portOf = new Map<string, number>();
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length > 9 && f[3] === '0A') portOf.set(f[9]!, parseInt(f[1]!.split(':')[1]!, 16));
  }
  return portOf;
}

/** The inodes of the IPv4 sockets listening on `port`. */
function listeningInodes(port: number): Set<string> {
  return new Set([...listeningSockets()].filter(([, p]) => p === port).map(([inode]) => inode));
}

/** The ports of the IPv4 sockets that the process `pid` listens on. */
function listeningPortsOf(pid: number): number[] {
  const portOf = listeningSockets();
  return socketsOf(pid, new Set(portOf.keys())).map((inode) => portOf.get(inode)!);
}

/** Which of `inodes` the process `pid` holds open. */
function socketsOf(pid: number, inodes: Set<string>): string[] {
  const held: string[] = [];
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    let target: string;
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue; // closed meanwhile
    }
    const m = /^socket:\[(\d+)\]$/.exec(target);
    if (m && inodes.has(m[1]!)) held.push(m[1]!);
  }
  return held;
}

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

/** The system with a gateway of two workers (and `env`), once its management port says ready. */
async function startWorkers(mgmtPort: number, env: Record<string, string>): Promise<System> {
  const sys = await startSystem({
    extra: [
      {
        name: 'auth-service',
        migrate: true,
        env: { GATEHOUSE_GATEWAY_WORKERS: '2', GATEHOUSE_GATEWAY_MANAGEMENT_PORT: String(mgmtPort), GATEHOUSE_HEALTH_DETAILS: 'true', ...env },
      },
    ],
  });
  await expectEventually(async () => expect((await get(`http://127.0.0.1:${mgmtPort}/readyz`)).status).toBe(200), {
    timeoutMs: 30_000,
    intervalMs: 200,
  }).catch(async (e: Error) => {
    const logs = sys.logs();
    await sys.stop();
    throw new Error(`${e.message}\n${logs}`);
  });
  return sys;
}

describe.each(['kernel', 'primary'] as const)('gateway workers, GATEHOUSE_GATEWAY_BALANCE=%s', (balance) => {
  let sys: System;
  let port: number;
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
    port = await listenPort();
    const mgmtPort = await listenPort();
    gw = `http://127.0.0.1:${port}`;
    mgmt = `http://127.0.0.1:${mgmtPort}`;
    sys = await startWorkers(mgmtPort, {
      GATEHOUSE_GATEWAY_BALANCE: balance,
      GATEHOUSE_GATEWAY_PORT: String(port),
      GATEHOUSE_TEAM_URL: gw,
      GATEHOUSE_RATE_LIMIT_BURST: '4',
      GATEHOUSE_RATE_LIMIT_PER_MINUTE: '1',
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

  it(
    balance === 'kernel'
      ? 'gives each worker a listening socket of its own on the port, and the primary none'
      : 'keeps the one listening socket in the primary, and none in the workers',
    async () => {
      const workers = await pids();
      expect(workers.size).toBe(2);
      const primary = sys.processes.get('auth-service')!.child.pid!;
      const inodes = listeningInodes(port);
      const held = [...workers].map((pid) => socketsOf(pid, inodes));
      if (balance === 'kernel') {
        expect(inodes.size).toBe(2);
        expect(held.map((h) => h.length)).toEqual([1, 1]);
        expect(new Set(held.flat()).size).toBe(2);
        expect(socketsOf(primary, inodes)).toEqual([]);
      } else {
        expect(inodes.size).toBe(1);
        expect(held.flat()).toEqual([]);
        expect(socketsOf(primary, inodes)).toEqual([...inodes]);
      }
    },
  );

  // Kernel balance only: the primary's own bind (without SO_REUSEPORT) finds the port held before
  // any worker starts. (With the round-robin, the primary's listen fails in each worker's start.)
  if (balance === 'kernel')
    it('refuses to start on a port another process listens on, instead of sharing it', async () => {
      const squatter = net.createServer();
      await new Promise<void>((r) => squatter.listen({ port: 0, host: '127.0.0.1', reusePort: true }, r));
      const taken = (squatter.address() as { port: number }).port;
      try {
        const second = runService('auth-service', {
          ...sys.serviceEnv('auth-service'),
          DATABASE_URL: sys.tokenDb.url,
          GATEHOUSE_GATEWAY_WORKERS: '2',
          GATEHOUSE_GATEWAY_PORT: String(taken),
          GATEHOUSE_GATEWAY_MANAGEMENT_PORT: '0',
        });
        const code = await new Promise<number | null>((r) => second.child.once('exit', r));
        expect(second.output.join('')).toContain(`Gateway port 127.0.0.1:${taken} is not free (EADDRINUSE)`);
        expect(code).toBe(1);
      } finally {
        squatter.close();
      }
    }, 30_000);

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
    // The dead worker's socket has left the port's group; its replacement's has joined it.
    expect(listeningInodes(port).size).toBe(balance === 'kernel' ? 2 : 1);
  }, 60_000);
});

describe('gateway workers on GATEHOUSE_GATEWAY_PORT=0, kernel balance', () => {
  let sys: System;
  afterAll(async () => {
    await sys?.stop();
  });

  it('listen on one port, which the primary picked for them all', async () => {
    const mgmtPort = await listenPort();
    sys = await startWorkers(mgmtPort, { GATEHOUSE_GATEWAY_BALANCE: 'kernel', GATEHOUSE_GATEWAY_PORT: '0' });
    // Where each worker (a child of the primary) listens.
    const primary = sys.processes.get('auth-service')!.child.pid!;
    const workers = readFileSync(`/proc/${primary}/task/${primary}/children`, 'utf8').trim().split(/\s+/).map(Number);
    expect(workers).toHaveLength(2);
    const ports = workers.map((pid) => listeningPortsOf(pid));
    expect(ports[0]).toHaveLength(1);
    expect(ports[0]![0]).toBeGreaterThan(0);
    expect(ports[1]).toEqual(ports[0]);
    const picked = ports[0]![0]!;
    expect(listeningInodes(picked).size).toBe(2);
    const seen = new Set<number>();
    await expectEventually(async () => {
      for (let i = 0; i < 20; i++) seen.add(JSON.parse((await get(`http://127.0.0.1:${picked}/cdn-cgi/access/health`)).body).pid);
      expect(seen.size).toBe(2);
    });
  }, 60_000);
});
