import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expectEventually, freePort, waitForPort } from '@gatehouse/testing';
import pg from 'pg';
import { natsSecurity, runOnce, runService, type ServiceProcess } from './system.js';

/**
 * The production topology as processes on this machine (no containers here): a 3-node NATS
 * cluster with JetStream (streams R3), a PostgreSQL of its own (so it can be restarted without
 * touching anyone else's), 2 gateways, 2 token-service replicas, 2 notification-service replicas
 * and 1 API. Used by test/e2e/failover.e2e-spec.ts; `node test/cluster/topology.mjs` starts it by
 * hand (see docs/operations.md).
 */

const NATS_BIN = process.env.NATS_SERVER_BIN ?? 'nats-server';

export interface NatsNode {
  name: string;
  port: number;
  monitorUrl: string;
  /** SIGKILL, as a crash would; the store stays for the restart. */
  kill(): Promise<void>;
  start(): Promise<void>;
}

export async function startNatsCluster(size: number, config: string): Promise<{ url: string; nodes: NatsNode[]; stop(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'gh-nats-cluster-'));
  const ports = await Promise.all(
    Array.from({ length: size }, async () => ({ client: await freePort(), cluster: await freePort(), monitor: await freePort() })),
  );
  const file = join(dir, 'auth.conf');
  writeFileSync(file, config, { mode: 0o600 });
  const nodes: NatsNode[] = ports.map((p, i) => {
    let child: ChildProcess | undefined;
    const name = `nats-${i + 1}`;
    const routes = ports
      .filter((_, j) => j !== i)
      .map((o) => `nats://127.0.0.1:${o.cluster}`)
      .join(',');
    const args = [
      '-c',
      file,
      '-a',
      '127.0.0.1',
      '-p',
      String(p.client),
      '-m',
      String(p.monitor),
      '-n',
      name,
      '-js',
      '-sd',
      join(dir, name),
      '--cluster_name',
      'gatehouse-test',
      '--cluster',
      `nats://127.0.0.1:${p.cluster}`,
      '--routes',
      routes,
    ];
    return {
      name,
      port: p.client,
      monitorUrl: `http://127.0.0.1:${p.monitor}`,
      async start() {
        child = spawn(NATS_BIN, args, { stdio: 'ignore' });
        await waitForPort(p.client);
      },
      async kill() {
        const c = child;
        if (!c || c.exitCode !== null || c.signalCode !== null) return;
        await new Promise<void>((resolve) => {
          c.once('exit', () => resolve());
          c.kill('SIGKILL');
        });
      },
    };
  });
  await Promise.all(nodes.map((n) => n.start()));
  // JetStream needs its meta leader before a stream can be created.
  await expectEventually(
    async () => {
      const res = await fetch(`${nodes[0]!.monitorUrl}/jsz`);
      const body = (await res.json()) as { meta_cluster?: { leader?: string; cluster_size?: number } };
      if (!body.meta_cluster?.leader) throw new Error('no JetStream meta leader yet');
    },
    { timeoutMs: 30_000, intervalMs: 200 },
  );
  return {
    url: nodes.map((n) => `nats://127.0.0.1:${n.port}`).join(','),
    nodes,
    async stop() {
      await Promise.all(nodes.map((n) => n.kill()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The machine's PostgreSQL binaries (Debian's postgresql package). */
function pgBin(tool: string): string {
  const base = '/usr/lib/postgresql';
  const version = existsSync(base) ? readdirSync(base).sort((a, b) => Number(b) - Number(a))[0] : undefined;
  const bin = version ? join(base, version, 'bin', tool) : tool;
  if (version && !existsSync(bin)) throw new Error(`${bin} is missing (apt-get install postgresql)`);
  return bin;
}

export interface OwnPostgres {
  url: string;
  /** `pg_ctl stop -m immediate` (no clean shutdown, as a crash), then start again after `downMs`. */
  restart(downMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/** A PostgreSQL server of the test's own (initdb into a temp folder, trust auth, loopback only). */
export async function startOwnPostgres(): Promise<OwnPostgres> {
  const asRoot = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), 'gh-pg-'));
  const data = join(dir, 'data');
  const port = await freePort();
  const run = (tool: string, args: string[]) => {
    const cmd = asRoot ? 'runuser' : pgBin(tool);
    const full = asRoot ? ['-u', 'postgres', '--', pgBin(tool), ...args] : args;
    const r = spawnSync(cmd, full, { encoding: 'utf8', cwd: dir });
    if (r.status !== 0) throw new Error(`${tool} ${args.join(' ')} failed: ${r.stderr || r.stdout}`);
  };
  if (asRoot) {
    // The server runs as the postgres user: it must reach and own its folder.
    chmodSync(dir, 0o755);
    const ids = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
    const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
    chownSync(dir, Number(ids.stdout.trim()), Number(gid.stdout.trim()));
  }
  run('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync']);
  const start = async () => {
    run('pg_ctl', [
      '-D',
      data,
      '-l',
      join(dir, 'log'),
      '-w',
      '-o',
      `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`,
      'start',
    ]);
    await waitForPort(port);
  };
  const stopNow = () => run('pg_ctl', ['-D', data, '-m', 'immediate', 'stop']);
  await start();
  const admin = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${port}/postgres` });
  await admin.connect();
  await admin.query('CREATE DATABASE gatehouse');
  await admin.end();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/gatehouse`,
    async restart(downMs = 1000) {
      stopNow();
      await new Promise((r) => setTimeout(r, downMs)); // the outage itself, not a wait for a result
      await start();
    },
    async stop() {
      try {
        stopNow();
      } catch {
        /* already stopped */
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface Topology {
  apiUrl: string;
  adminToken: string;
  gateways: string[];
  nats: Awaited<ReturnType<typeof startNatsCluster>>;
  postgres: OwnPostgres;
  processes: ServiceProcess[];
  api(path: string, init?: RequestInit & { json?: unknown }): Promise<{ status: number; body: any }>;
  /** Starts one more replica of a service (with the same settings as the others). */
  startReplica(name: string): ServiceProcess;
  logs(): string;
  stop(): Promise<void>;
}

export async function startTopology(options: { smtpUrl: string; env?: Record<string, string> }): Promise<Topology> {
  const security = natsSecurity();
  const nats = await startNatsCluster(3, security.config);
  const postgres = await startOwnPostgres();
  const adminToken = randomBytes(24).toString('hex');
  const apiPort = await freePort();
  const gatewayPorts = [await freePort(), await freePort()];
  const shared: Record<string, string> = {
    NATS_URL: nats.url,
    DATABASE_URL: postgres.url,
    GATEHOUSE_HASH_KEY: randomBytes(32).toString('hex'),
    GATEHOUSE_LOG_LEVEL: 'warn',
    GATEHOUSE_ACCESS_LOG_REPLICAS: '3',
    ...options.env,
  };
  const own: Record<string, Record<string, string>> = {
    'token-service': {},
    'notification-service': {
      SMTP_URL: options.smtpUrl,
      GATEHOUSE_NOTIFY_TICK_MS: '200',
      GATEHOUSE_NOTIFY_RETRY_BASE_MS: '200',
      GATEHOUSE_NOTIFY_RETRY_MAX_MS: '1000',
    },
    api: { GATEHOUSE_ADMIN_TOKEN: adminToken, GATEHOUSE_API_PORT: String(apiPort), GATEHOUSE_API_HOST: '127.0.0.1' },
  };
  // Settings that the schema of one service does not know stay with the services that use them.
  // Two replicas of a service on one machine: each management port is a free one.
  const management = {
    GATEHOUSE_API_MANAGEMENT_PORT: '0',
    GATEHOUSE_GATEWAY_MANAGEMENT_PORT: '0',
    GATEHOUSE_TOKEN_SERVICE_MANAGEMENT_PORT: '0',
    GATEHOUSE_NOTIFICATION_SERVICE_MANAGEMENT_PORT: '0',
  };
  const envOf = (name: string, extra: Record<string, string> = {}) => {
    const base = name === 'api' ? { NATS_URL: shared.NATS_URL!, GATEHOUSE_LOG_LEVEL: 'warn' } : shared;
    return { ...base, ...management, ...security.envFor(name), ...own[name], ...extra };
  };
  const processes: ServiceProcess[] = [];
  const topology: Topology = {
    apiUrl: `http://127.0.0.1:${apiPort}`,
    adminToken,
    gateways: gatewayPorts.map((p) => `http://127.0.0.1:${p}`),
    nats,
    postgres,
    processes,
    async api(path, init = {}) {
      const headers = new Headers(init.headers);
      headers.set('authorization', `Bearer ${adminToken}`);
      let body = init.body;
      if (init.json !== undefined) {
        headers.set('content-type', 'application/json');
        body = JSON.stringify(init.json);
      }
      const res = await fetch(`${topology.apiUrl}${path}`, { ...init, headers, body });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        /* not JSON */
      }
      return { status: res.status, body: parsed };
    },
    startReplica(name) {
      const p = runService(name, envOf(name));
      processes.push(p);
      return p;
    },
    logs: () => processes.map((p) => `--- ${p.name} (pid ${p.child.pid})\n${p.output.join('')}`).join('\n'),
    async stop() {
      await Promise.all(processes.map((p) => p.stop()));
      await nats.stop();
      await postgres.stop();
    },
  };
  try {
    for (const name of ['token-service', 'auth-service', 'notification-service']) await runOnce(name, 'migrate.js', { DATABASE_URL: postgres.url });
    for (let i = 0; i < 2; i++) topology.startReplica('token-service');
    for (let i = 0; i < 2; i++) topology.startReplica('notification-service');
    for (const port of gatewayPorts) {
      const p = runService(
        'auth-service',
        envOf('auth-service', {
          GATEHOUSE_GATEWAY_PORT: String(port),
          GATEHOUSE_TEAM_URL: `http://127.0.0.1:${gatewayPorts[0]}`,
          GATEHOUSE_RATE_LIMIT_IP_BURST: '100000',
        }),
      );
      processes.push(p);
    }
    topology.startReplica('api');
    await expectEventually(
      async () => {
        const res = await topology.api('/client/v4/accounts');
        if (res.status !== 200) throw new Error(`API: ${res.status}`);
        for (const gw of topology.gateways) {
          const h = await fetch(`${gw}/cdn-cgi/access/health`);
          if (h.status !== 200) throw new Error(`gateway ${gw}: ${h.status}`);
          const body = (await h.json()) as { status: string };
          if (body.status !== 'ok') throw new Error(`gateway ${gw}: ${body.status}`);
        }
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
  } catch (error) {
    const logs = topology.logs();
    await topology.stop();
    throw new Error(`Topology did not start: ${(error as Error).message}\n${logs}`, { cause: error });
  }
  return topology;
}
