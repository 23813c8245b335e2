// Benchmark: 10,000 service tokens expiring within the week, one alert policy with two email
// recipients -> time until all 20,000 messages are accepted by an in-process SMTP server, and the
// number of duplicates (must be 0). Target: under 60 s.
//
// Real parts: its own nats-server, databases on the real PostgreSQL, the built token service and
// notification service as processes. Run after `npm run build`:
//   node test/bench/alerts.mjs            (BENCH_ALERT_TOKENS=2000 for a quicker run)
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CreateAlertPolicy, CreateServiceToken, ListAccounts } from '@gatehouse/contracts';
import { connectRpc } from '@gatehouse/nest-kit';
import { createTestDatabase, freePort, startNats } from '@gatehouse/testing';
import pg from 'pg';
import { SMTPServer } from 'smtp-server';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TOKENS = Number(process.env.BENCH_ALERT_TOKENS ?? 10_000);
const RECIPIENTS = ['bench-a@example.com', 'bench-b@example.com'];
const EXPECTED = TOKENS * RECIPIENTS.length;
const actor = { type: 'admin', id: 'bench' };

function run(name, entry, env) {
  const child = spawn(process.execPath, [`apps/${name}/dist/${entry}`], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = [];
  child.stdout.on('data', (b) => output.push(b.toString()));
  child.stderr.on('data', (b) => output.push(b.toString()));
  child.output = output;
  return child;
}
const exited = (child) => new Promise((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', resolve)));
async function runOnce(name, entry, env) {
  const child = run(name, entry, env);
  if ((await exited(child)) !== 0) throw new Error(`${name} ${entry} failed:\n${child.output.join('')}`);
}
async function until(what, fn, timeoutMs, intervalMs = 50) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await fn()) return;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

// The SMTP server: counts accepted messages by Message-ID (headers only, no full parse).
const accepted = new Map();
let total = 0;
const smtpPort = await freePort();
const smtp = new SMTPServer({
  disabledCommands: ['STARTTLS', 'AUTH'],
  logger: false,
  size: 1024 * 1024,
  onData(stream, _session, cb) {
    let head = '';
    stream.on('data', (chunk) => {
      if (head.length < 16_384) head += chunk.toString('utf8');
    });
    stream.on('end', () => {
      const id = /^Message-ID:\s*(\S+)/im.exec(head)?.[1] ?? `missing-${total}`;
      accepted.set(id, (accepted.get(id) ?? 0) + 1);
      total++;
      cb();
    });
  },
});
await new Promise((resolve) => smtp.listen(smtpPort, '127.0.0.1', resolve));

const nats = await startNats();
const tokenDb = await createTestDatabase(undefined, 'gh_bench_tokens');
const notifyDb = await createTestDatabase(undefined, 'gh_bench_notify');
const shared = {
  NATS_URL: nats.url,
  GATEHOUSE_HASH_KEY: 'b'.repeat(64),
  GATEHOUSE_LOG_LEVEL: 'warn',
  GATEHOUSE_TOKEN_SERVICE_MANAGEMENT_PORT: '0',
  GATEHOUSE_NOTIFICATION_SERVICE_MANAGEMENT_PORT: '0',
};
const children = [];
const notifyClient = new pg.Client({ connectionString: notifyDb.url });
let rpc;
try {
  await runOnce('token-service', 'migrate.js', { DATABASE_URL: tokenDb.url });
  await runOnce('notification-service', 'migrate.js', { DATABASE_URL: notifyDb.url });
  children.push(run('token-service', 'main.js', { ...shared, DATABASE_URL: tokenDb.url }));
  children.push(
    run('notification-service', 'main.js', {
      ...shared,
      DATABASE_URL: notifyDb.url,
      SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
      GATEHOUSE_NOTIFY_TICK_MS: '1000',
      ...(process.env.BENCH_NOTIFY_CONCURRENCY ? { GATEHOUSE_NOTIFY_CONCURRENCY: process.env.BENCH_NOTIFY_CONCURRENCY } : {}),
    }),
  );
  rpc = await connectRpc(nats.url, 'bench-alerts', 30_000);
  await notifyClient.connect();
  let accountId;
  await until(
    'the token service',
    async () => {
      try {
        [{ id: accountId }] = await rpc.request(ListAccounts, {});
        return true;
      } catch {
        return false;
      }
    },
    30_000,
    200,
  );

  let t0 = Date.now();
  for (let i = 0; i < TOKENS; i += 50) {
    await Promise.all(
      Array.from({ length: Math.min(50, TOKENS - i) }, (_, j) =>
        rpc.request(CreateServiceToken, { accountId, name: `bench-${i + j}`, duration: `${24 + ((i + j) % 140)}h`, actor }),
      ),
    );
  }
  console.log(`setup: ${TOKENS} tokens created in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  await until(
    'the notification service to know every token',
    async () => {
      const { rows } = await notifyClient.query('SELECT count(*)::int AS n FROM alert_tokens WHERE NOT deleted');
      return rows[0].n >= TOKENS;
    },
    120_000,
    200,
  );

  t0 = Date.now();
  await rpc.request(CreateAlertPolicy, {
    accountId,
    name: 'bench',
    alertType: 'expiring_service_token_alert',
    mechanisms: { email: RECIPIENTS.map((id) => ({ id })) },
  });
  await until(`${EXPECTED} accepted messages`, () => accepted.size >= EXPECTED, 300_000, 20);
  const seconds = (Date.now() - t0) / 1000;
  // Every delivery recorded as sent: nothing is left that could still send a late duplicate.
  await until(
    'every delivery marked sent',
    async () => {
      const { rows } = await notifyClient.query(`SELECT count(*)::int AS n FROM alert_deliveries WHERE status = 'sent'`);
      return rows[0].n === EXPECTED;
    },
    30_000,
  );
  const duplicates = total - accepted.size;
  const result = {
    benchmark: 'alerts',
    tokens: TOKENS,
    recipients: RECIPIENTS.length,
    messages: accepted.size,
    seconds: Number(seconds.toFixed(2)),
    messagesPerSecond: Math.round(accepted.size / seconds),
    duplicates,
    targetSeconds: 60,
    pass: duplicates === 0 && accepted.size === EXPECTED && seconds < 60,
  };
  console.log(JSON.stringify(result));
  process.exitCode = result.pass ? 0 : 1;
} catch (error) {
  console.error(error.message);
  for (const c of children) console.error(c.output.join('').slice(-4000));
  process.exitCode = 1;
} finally {
  await rpc?.close().catch(() => undefined);
  await notifyClient.end().catch(() => undefined);
  for (const c of children) {
    c.kill('SIGTERM');
    await Promise.race([exited(c), new Promise((r) => setTimeout(r, 5000))]);
    if (c.exitCode === null) c.kill('SIGKILL');
  }
  await tokenDb.drop().catch(() => undefined);
  await notifyDb.drop().catch(() => undefined);
  await nats.stop();
  await new Promise((resolve) => smtp.close(resolve));
}
