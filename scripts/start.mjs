#!/usr/bin/env node
// `npm start`: the whole Gatehouse system on this machine, with local defaults.
//
// 0. Checks that every port it will listen on is free (one line per busy port, naming the
//    variable that moves it, then exit 1: nothing started, no token minted), and runs on the
//    project's Node (the `node` devDependency, Node 24), fetching it first when started by an older one.
// 1. Installs dependencies when they are missing and builds every workspace (`--no-build`: start
//    what is already built).
// 2. DATABASE_URL unset: starts an embedded PostgreSQL (from npm) under the state folder.
//    NATS_URL unset: starts a local nats-server (installing Debian's package when missing).
//    SMTP_URL unset: starts maildev, a development mail catcher with a web page.
// 3. Runs every service's migrations, then starts every service and prints where each listens.
// Ctrl-C stops everything cleanly. Uses only Node's standard library until dependencies exist.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';
import { startEmbeddedPostgres } from './lib/embedded-postgres.mjs';
import { onProjectNode } from './lib/node-runtime.mjs';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const STATE = resolve(process.env.GATEHOUSE_STATE_DIR ?? join(ROOT, '.gatehouse'));
const BUILD = !process.argv.includes('--no-build');
const children = [];
let stopping = false;
let embeddedPg;

// Colours only on a terminal: output sent to a file or a pipe stays plain text.
const paint = (code, text, stream = process.stdout) => (stream.isTTY && !process.env.NO_COLOR ? `\x1b[${code}m${text}\x1b[0m` : text);
const log = (msg) => console.log(`${paint(36, '[gatehouse]')} ${msg}`);
const fail = (msg) => {
  console.error(paint(31, `[gatehouse] ${msg}`, process.stderr));
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

/** Asks `check` every 100 ms until it says true; past `timeoutMs`, fails with `failure()`'s words. */
async function pollUntil(check, timeoutMs, failure) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(failure());
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The JSON body at `url`, or undefined when there is no answer (yet). */
const jsonAt = (url) =>
  fetch(url)
    .then((r) => r.json())
    .catch(() => undefined);

const waitPort = (port, what, timeoutMs = 20_000) =>
  pollUntil(
    () => portOpen(port),
    timeoutMs,
    () => `${what} did not open port ${port} within ${timeoutMs / 1000}s`,
  );

/** Until the API reaches the token service over NATS (its /healthz says `token_service: up`). */
const waitTokenService = (apiUrl, timeoutMs = 60_000) =>
  pollUntil(
    async () => (await jsonAt(`${apiUrl}/healthz`))?.result?.token_service === 'up',
    timeoutMs,
    () => `the token service did not answer within ${timeoutMs / 1000}s`,
  );

/**
 * Until the gateway can decide (its health leaves `loading`: the replica and the signing keys are
 * loaded; a first start makes the deployment's first key while it already listens).
 */
function waitGateway(gatewayUrl, timeoutMs = 60_000) {
  let status;
  return pollUntil(
    async () => ((status = (await jsonAt(`${gatewayUrl}/cdn-cgi/access/health`))?.status), status === 'ok' || status === 'stale'),
    timeoutMs,
    () => `the gateway did not load its replica and signing keys within ${timeoutMs / 1000}s (health: ${status ?? 'no answer'})`,
  );
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
  const prefix = `${paint(color, name.padEnd(20))}| `;
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
  // The database last: every service has closed its connections by now.
  if (embeddedPg) await embeddedPg.stop();
  log('stopped');
  process.exit(code);
}
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => void shutdown(0));

async function ensureDependencies() {
  if (!existsSync(join(ROOT, 'node_modules', '.package-lock.json')) || !existsSync(join(ROOT, 'node_modules', 'turbo'))) {
    log('installing dependencies (npm ci)…');
    run('npm', ['ci', '--no-audit', '--no-fund']);
  }
  if (!BUILD) return;
  log('building…');
  run('npx', ['turbo', 'run', 'build', '--output-logs=errors-only']);
}

const MANAGEMENT = [
  ['api', 'GATEHOUSE_API_MANAGEMENT_PORT', 9461],
  ['auth-service', 'GATEHOUSE_GATEWAY_MANAGEMENT_PORT', 9462],
  ['token-service', 'GATEHOUSE_TOKEN_SERVICE_MANAGEMENT_PORT', 9463],
  ['notification-service', 'GATEHOUSE_NOTIFICATION_SERVICE_MANAGEMENT_PORT', 9464],
];

/** The text of every TypeScript source file of the apps and libs (to see which settings exist). */
function sourceText() {
  const texts = [];
  const walk = (dir) => {
    for (const entry of existsSync(dir) ? readdirSync(dir, { withFileTypes: true }) : []) {
      const path = join(dir, entry.name);
      if (entry.isDirectory() && entry.name !== 'node_modules' && entry.name !== 'dist') walk(path);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts')) texts.push(readFileSync(path, 'utf8'));
    }
  };
  for (const group of ['apps', 'libs']) {
    for (const pkg of existsSync(join(ROOT, group)) ? readdirSync(join(ROOT, group)) : []) walk(join(ROOT, group, pkg, 'src'));
  }
  return texts.join('\n');
}

/** Every port this start will listen on, with the variable that moves it. */
function plannedPorts() {
  const e = process.env;
  const local = '127.0.0.1';
  const plan = [
    { what: 'admin API', variable: 'GATEHOUSE_API_PORT', fallback: 8080, host: e.GATEHOUSE_API_HOST ?? local },
    { what: 'gateway', variable: 'GATEHOUSE_GATEWAY_PORT', fallback: 8000, host: e.GATEHOUSE_GATEWAY_HOST ?? local },
  ];
  if (!e.DATABASE_URL) plan.push({ what: 'embedded PostgreSQL', variable: 'GATEHOUSE_PG_PORT', fallback: 54329, host: local, alternative: 'DATABASE_URL' });
  if (!e.NATS_URL) plan.push({ what: 'local nats-server', variable: 'GATEHOUSE_NATS_PORT', fallback: 4223, host: local, alternative: 'NATS_URL' });
  if (!e.SMTP_URL) {
    plan.push({ what: 'mail catcher (SMTP)', variable: 'GATEHOUSE_MAILDEV_SMTP_PORT', fallback: 1025, host: local, alternative: 'SMTP_URL' });
    plan.push({ what: 'mail catcher (web)', variable: 'GATEHOUSE_MAILDEV_WEB_PORT', fallback: 1080, host: local, alternative: 'SMTP_URL' });
  }
  // A service's management port counts once the sources know its variable.
  const sources = sourceText();
  for (const [app, variable, fallback] of MANAGEMENT) {
    if (sources.includes(variable)) plan.push({ what: `${app} management`, variable, fallback, host: e.GATEHOUSE_MANAGEMENT_HOST ?? local });
  }
  return plan.map((p) => ({ ...p, value: e[p.variable] ?? String(p.fallback) }));
}

/** Why `port` cannot be listened on at `host`, or null when it is free (tried by listening on it). */
function portProblem(port, host) {
  return new Promise((res) => {
    const server = createServer();
    server.once('error', (err) => res(err.code === 'EADDRINUSE' ? 'is already in use' : `cannot be used (${err.code ?? err.message})`));
    server.listen({ port, host, exclusive: true }, () => server.close(() => res(null)));
  });
}

/** One line per port that is busy or invalid, then exit 1, before anything starts. */
async function checkPorts() {
  const problems = [];
  const seen = new Map();
  for (const p of plannedPorts()) {
    const port = Number(p.value);
    const move = `set ${p.variable} to a free port${p.alternative ? ` (or ${p.alternative} to use a running server)` : ''}`;
    if (!/^\d+$/.test(p.value) || port < 1 || port > 65535) {
      problems.push(`${p.variable}=${p.value} is not a port number (1-65535)`);
    } else if (seen.has(port)) {
      problems.push(`port ${port} is named twice, by ${seen.get(port)} and ${p.variable}: ${move}`);
    } else {
      seen.set(port, p.variable);
      const problem = await portProblem(port, p.host);
      if (problem) problems.push(`port ${port} (${p.what}, ${p.host}) ${problem}: ${move}`);
    }
  }
  if (!problems.length) return;
  for (const line of problems) console.error(paint(31, `[gatehouse] ${line}`, process.stderr));
  process.exit(1);
}

async function ensurePostgres() {
  if (process.env.DATABASE_URL) {
    log(`using DATABASE_URL from the environment`);
    return process.env.DATABASE_URL;
  }
  const port = Number(process.env.GATEHOUSE_PG_PORT ?? 54329);
  embeddedPg = await startEmbeddedPostgres({
    state: STATE,
    port,
    password: stateSecret('postgres-password', 16).value,
    log,
    onExit: (how) => {
      if (!stopping) fail(`the embedded PostgreSQL exited (${how}); stopping everything`);
    },
  });
  log(`embedded PostgreSQL on 127.0.0.1:${port}`);
  return embeddedPg.url;
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
  const store = join(STATE, 'nats');
  mkdirSync(store, { recursive: true });
  // As production runs it: a user per service, allowed only its own subjects (libs/contracts).
  const { SERVICES, natsAuthorizationConfig } = await import(pathToFileURL(join(ROOT, 'libs', 'contracts', 'dist', 'index.js')).href);
  for (const service of SERVICES) natsUsers[service] = stateSecret(`nats-${service}-password`, 24).value;
  const config = join(STATE, 'nats-authorization.conf');
  writeFileSync(config, natsAuthorizationConfig(SERVICES.map((service) => ({ service, password: natsUsers[service] }))), { mode: 0o600 });
  startChild('nats-server', bin, ['-c', config, '-a', '127.0.0.1', '-p', String(port), '-js', '-sd', store, '-l', join(STATE, 'nats-server.log')], {}, '90');
  await waitPort(port, 'nats-server');
  log(`local nats-server on 127.0.0.1:${port}`);
  return `nats://127.0.0.1:${port}`;
}

/** Passwords of the services' NATS users, when this script runs the nats-server (else: from the environment). */
const natsUsers = {};
function natsEnv(name) {
  return natsUsers[name] ? { GATEHOUSE_NATS_USER: name, GATEHOUSE_NATS_PASSWORD: natsUsers[name] } : {};
}

async function ensureSmtp() {
  if (process.env.SMTP_URL) return { url: process.env.SMTP_URL, web: null };
  const smtpPort = Number(process.env.GATEHOUSE_MAILDEV_SMTP_PORT ?? 1025);
  const webPort = Number(process.env.GATEHOUSE_MAILDEV_WEB_PORT ?? 1080);
  let bin;
  try {
    // maildev 2 (a root dev dependency, for `npm start` only; production images never ship it):
    // SMTP plus a web page listing mail.
    const pkg = createRequire(join(ROOT, 'package.json')).resolve('maildev/package.json');
    bin = join(dirname(pkg), 'bin', 'maildev');
  } catch {
    throw new Error('maildev is not installed (npm ci installs it); or set SMTP_URL');
  }
  startChild(
    'maildev',
    process.execPath,
    [bin, '--smtp', String(smtpPort), '--ip', '127.0.0.1', '--web', String(webPort), '--web-ip', '127.0.0.1', '--silent'],
    {},
    '90',
  );
  await waitPort(smtpPort, 'maildev');
  return { url: `smtp://127.0.0.1:${smtpPort}`, web: `http://127.0.0.1:${webPort}` };
}

function service(name) {
  return existsSync(join(ROOT, 'apps', name, 'dist', 'main.js'));
}

async function main() {
  await checkPorts();
  if (onProjectNode(STATE, log)) return;
  await ensureDependencies();
  mkdirSync(STATE, { recursive: true });
  const databaseUrl = await ensurePostgres();
  const natsUrl = await ensureNats();
  const smtp = await ensureSmtp();

  const fromEnv = process.env.GATEHOUSE_ADMIN_TOKEN ? 'GATEHOUSE_ADMIN_TOKEN' : process.env.GATEHOUSE_ADMIN_TOKENS ? 'GATEHOUSE_ADMIN_TOKENS' : null;
  const admin = fromEnv ? { value: process.env.GATEHOUSE_ADMIN_TOKEN, created: false } : stateSecret('admin-token', 32);
  const hashKey = process.env.GATEHOUSE_HASH_KEY ?? stateSecret('hash-key', 32).value;
  const apiPort = Number(process.env.GATEHOUSE_API_PORT ?? 8080);
  const gatewayPort = Number(process.env.GATEHOUSE_GATEWAY_PORT ?? 8000);
  const apiHost = process.env.GATEHOUSE_API_HOST ?? '127.0.0.1';
  const gatewayUrl = `http://${process.env.GATEHOUSE_GATEWAY_HOST ?? '127.0.0.1'}:${gatewayPort}`;
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
    ...(admin.value ? { GATEHOUSE_ADMIN_TOKEN: admin.value } : {}),
    GATEHOUSE_HASH_KEY: hashKey,
    GATEHOUSE_API_PORT: String(apiPort),
    GATEHOUSE_GATEWAY_PORT: String(gatewayPort),
    GATEHOUSE_DASHBOARD_DIR: process.env.GATEHOUSE_DASHBOARD_DIR ?? join(ROOT, 'apps', 'dashboard', 'dist'),
    // Services log warnings and errors; the summary below says where everything listens.
    GATEHOUSE_LOG_LEVEL: process.env.GATEHOUSE_LOG_LEVEL ?? 'warn',
    // Plain text lines on a terminal, JSON lines into a file or a pipe.
    GATEHOUSE_LOG_FORMAT: process.env.GATEHOUSE_LOG_FORMAT ?? (process.stdout.isTTY ? 'pretty' : 'json'),
    GATEHOUSE_PUBLIC_URL: process.env.GATEHOUSE_PUBLIC_URL ?? `http://${apiHost}:${apiPort}`,
    // The JWTs' issuer is the gateway URL printed below, so a verifier pinned to it accepts them.
    GATEHOUSE_TEAM_URL: process.env.GATEHOUSE_TEAM_URL ?? gatewayUrl,
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
  const launch = (name) =>
    startChild(name, process.execPath, [join('apps', name, 'dist', 'main.js')], { ...env, ...natsEnv(name) }, colors[services.indexOf(name) % colors.length]);
  // The token service answers first: the gateway and the notifier ask it for a snapshot as they
  // start, and would otherwise log that nobody answers yet.
  for (const name of ['token-service', 'api']) if (services.includes(name)) launch(name);
  await waitPort(apiPort, 'api', 60_000);
  if (services.includes('token-service')) await waitTokenService(`http://${apiHost}:${apiPort}`);
  for (const name of services.filter((n) => n !== 'token-service' && n !== 'api')) launch(name);
  if (services.includes('auth-service')) {
    await waitPort(gatewayPort, 'auth-service', 60_000);
    await waitGateway(gatewayUrl);
  }
  const host = apiHost;
  console.log(`
${paint(1, 'Gatehouse is running')}
  Admin API        http://${host}:${apiPort}/client/v4   (docs: http://${host}:${apiPort}/docs)
  Dashboard        http://${host}:${apiPort}/
  Gateway          ${services.includes('auth-service') ? `${gatewayUrl}   (keys: /cdn-cgi/access/certs, JWT iss: ${env.GATEHOUSE_TEAM_URL})` : 'not built'}
  Mail catcher     ${smtp.web ?? (smtp.url ? `sending through ${smtp.url.replace(/\/\/[^@]*@/, '//***@')}` : 'none')}
  PostgreSQL       ${databaseUrl.replace(/:[^:@/]*@/, ':***@')}
  NATS             ${natsUrl}
  Management       ${services.map((name) => `${name === 'auth-service' ? 'gateway' : name} http://${managementHost}:${managementPort(name)}`).join('\n                   ')}
                   (each: /metrics, /healthz, /readyz)
  Admin token      ${admin.created ? `${admin.value}   (new; stored in ${admin.path}, shown only this once)` : fromEnv ? `from ${fromEnv}` : `stored in ${join(STATE, 'admin-token')}`}
Press Ctrl-C to stop.
`);
}

main().catch((e) => fail(e instanceof Error ? e.message : `start failed: ${String(e)}`));
