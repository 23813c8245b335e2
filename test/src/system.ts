import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { SERVICES, natsAuthorizationConfig, type ServiceName } from '@gatehouse/contracts';
import { createTestDatabase, expectEventually, freePort, startNats, type TestDatabase, type TestNats } from '@gatehouse/testing';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface ServiceProcess {
  name: string;
  child: ChildProcess;
  output: string[];
  /** SIGKILL (no cleanup), as a crash would. */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts a built service (`apps/<name>/dist/<entry>.js`) as its own process. */
export function runService(name: string, env: Record<string, string>, entry = 'main.js'): ServiceProcess {
  const child = spawn(process.execPath, [`apps/${name}/dist/${entry}`], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Everything a run prints (up to 16 MB): the secrets-in-logs test reads every line.
  const output: string[] = [];
  let size = 0;
  const keep = (b: Buffer) => {
    const text = b.toString();
    output.push(text);
    size += text.length;
    while (size > 16 * 1024 * 1024) size -= output.shift()!.length;
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const waitExit = (signal: NodeJS.Signals) =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      child.kill(signal);
    });
  return { name, child, output, kill: () => waitExit('SIGKILL'), stop: () => waitExit('SIGTERM') };
}

/** Runs a one-shot script of a service (migrations) and fails with its output if it fails. */
export async function runOnce(name: string, entry: string, env: Record<string, string>): Promise<string> {
  const p = runService(name, env, entry);
  const code = await new Promise<number | null>((resolve) => p.child.once('exit', resolve));
  const text = p.output.join('');
  if (code !== 0) throw new Error(`${name} ${entry} failed (${code}):\n${text}`);
  return text;
}

/**
 * NATS as production runs it: a user per service with a random password, the server's
 * authorization block generated from the contracts, and the env that gives a service its user.
 */
export function natsSecurity(): {
  users: Record<ServiceName, { user: string; password: string }>;
  config: string;
  envFor(name: string): Record<string, string>;
} {
  const users = Object.fromEntries(SERVICES.map((s) => [s, { user: s, password: randomBytes(18).toString('hex') }])) as Record<
    ServiceName,
    { user: string; password: string }
  >;
  return {
    users,
    config: natsAuthorizationConfig(SERVICES.map((s) => ({ service: s, password: users[s].password }))),
    envFor(name): Record<string, string> {
      const u = users[name as ServiceName];
      return u ? { GATEHOUSE_NATS_USER: u.user, GATEHOUSE_NATS_PASSWORD: u.password } : {};
    },
  };
}

export interface System {
  apiUrl: string;
  adminToken: string;
  hashKey: string;
  nats: TestNats;
  /** Each service's own NATS credentials (the server allows each only its own subjects). */
  natsUsers: Record<ServiceName, { user: string; password: string }>;
  tokenDb: TestDatabase;
  processes: Map<string, ServiceProcess>;
  env: Record<string, string>;
  /** The shared env plus one service's own NATS credentials: for starting that service by hand. */
  serviceEnv(name: string): Record<string, string>;
  /** fetch against the admin API with the admin bearer token. */
  api(path: string, init?: RequestInit & { json?: unknown }): Promise<{ status: number; body: any; headers: Headers }>;
  defaultAccountId(): Promise<string>;
  stop(): Promise<void>;
  logs(): string;
}

/**
 * The whole system as real processes: its own nats-server, its own database on the real
 * PostgreSQL (migrated by the service's own migrate script), the token service and the API.
 * `extra` starts more services after those (each receives the shared env plus its own).
 */
export async function startSystem(
  options: {
    extra?: Array<{ name: string; env?: Record<string, string>; migrate?: boolean }>;
    env?: Record<string, string>;
    nats?: { maxPayload?: number };
  } = {},
): Promise<System> {
  const { users: natsUsers, config: natsConfig, envFor: natsEnv } = natsSecurity();
  const nats = await startNats({ ...options.nats, config: natsConfig });
  const tokenDb = await createTestDatabase();
  const adminToken = randomBytes(24).toString('hex');
  const hashKey = randomBytes(32).toString('hex');
  const apiPort = await freePort();
  const env: Record<string, string> = {
    NATS_URL: nats.url,
    GATEHOUSE_HASH_KEY: hashKey,
    GATEHOUSE_ADMIN_TOKEN: adminToken,
    GATEHOUSE_API_PORT: String(apiPort),
    GATEHOUSE_API_HOST: '127.0.0.1',
    GATEHOUSE_LOG_LEVEL: 'warn',
    // Free ports for every management port (never the well-known 9461–9464).
    GATEHOUSE_API_MANAGEMENT_PORT: '0',
    GATEHOUSE_GATEWAY_MANAGEMENT_PORT: '0',
    GATEHOUSE_TOKEN_SERVICE_MANAGEMENT_PORT: '0',
    GATEHOUSE_NOTIFICATION_SERVICE_MANAGEMENT_PORT: '0',
    ...options.env,
  };
  const processes = new Map<string, ServiceProcess>();
  const dbs: TestDatabase[] = [tokenDb];
  const system: System = {
    apiUrl: `http://127.0.0.1:${apiPort}`,
    adminToken,
    hashKey,
    nats,
    natsUsers,
    tokenDb,
    processes,
    env,
    serviceEnv: (name) => ({ ...env, ...natsEnv(name) }),
    async api(path, init = {}) {
      const headers = new Headers(init.headers);
      if (!headers.has('authorization')) headers.set('authorization', `Bearer ${adminToken}`);
      let reqBody = init.body;
      if (init.json !== undefined) {
        headers.set('content-type', 'application/json');
        reqBody = JSON.stringify(init.json);
      }
      const res = await fetch(`${system.apiUrl}${path}`, { ...init, headers, body: reqBody });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        /* not JSON: keep the text */
      }
      return { status: res.status, body: parsed, headers: res.headers };
    },
    async defaultAccountId() {
      const res = await system.api('/client/v4/accounts');
      return res.body.result[0].id;
    },
    logs() {
      return [...processes.values()].map((p) => `--- ${p.name}\n${p.output.join('')}`).join('\n');
    },
    async stop() {
      await Promise.all([...processes.values()].map((p) => p.stop()));
      await Promise.all(dbs.map((d) => d.drop().catch(() => undefined)));
      await nats.stop();
    },
  };
  try {
    await runOnce('token-service', 'migrate.js', { DATABASE_URL: tokenDb.url });
    processes.set('token-service', runService('token-service', { ...env, ...natsEnv('token-service'), DATABASE_URL: tokenDb.url }));
    processes.set('api', runService('api', { ...env, ...natsEnv('api') }));
    for (const extra of options.extra ?? []) {
      const own: Record<string, string> = { ...env, ...natsEnv(extra.name), ...extra.env };
      if (extra.migrate) {
        const db = await createTestDatabase();
        dbs.push(db);
        own.DATABASE_URL = db.url;
        await runOnce(extra.name, 'migrate.js', own);
      }
      processes.set(extra.name, runService(extra.name, own));
    }
    await expectEventually(
      async () => {
        const res = await fetch(`${system.apiUrl}/healthz`);
        const body = (await res.json()) as { result: { token_service: string } };
        if (body.result.token_service !== 'up') throw new Error('token service not up yet');
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    ).catch((e) => {
      throw new Error(`System did not start: ${(e as Error).message}\n${system.logs()}`);
    });
  } catch (error) {
    await system.stop();
    throw error;
  }
  return system;
}
