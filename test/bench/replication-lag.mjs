// Benchmark of the replication path (docs/replication.md): N tokens seeded through the token
// service's schema, the built token service and gateway as processes on their own nats-server.
// Reports: gateway time to loaded and RSS (and RSS per token), change lag p50/p99 at a fixed rate
// of token updates (commit acknowledged -> the gateway's watermark covers it), and bytes on NATS
// per minute when idle. Prints one JSON line (the *scale* bench may call this script).
//   node test/bench/replication-lag.mjs
//   BENCH_REPL_TOKENS=100000 BENCH_REPL_RATE=100 BENCH_REPL_SECONDS=10 BENCH_REPL_IDLE_SECONDS=30
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { CreateServiceToken, ListAccounts, UpdateServiceToken } from '@gatehouse/contracts';
import { connectRpc } from '@gatehouse/nest-kit';
import { createTestDatabase, freePort, startNats } from '@gatehouse/testing';
import pg from 'pg';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TOKENS = Number(process.env.BENCH_REPL_TOKENS ?? 20_000);
const RATE = Number(process.env.BENCH_REPL_RATE ?? 100);
const SECONDS = Number(process.env.BENCH_REPL_SECONDS ?? 10);
const IDLE_SECONDS = Number(process.env.BENCH_REPL_IDLE_SECONDS ?? 30);
const actor = { type: 'admin', id: 'bench' };

function run(name, entry, env) {
  const child = spawn(process.execPath, [`apps/${name}/dist/${entry}`], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.output = [];
  child.stdout.on('data', (b) => child.output.push(b.toString()));
  child.stderr.on('data', (b) => child.output.push(b.toString()));
  return child;
}
const exited = (child) => new Promise((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', resolve)));
async function runOnce(name, entry, env) {
  const child = run(name, entry, env);
  if ((await exited(child)) !== 0) throw new Error(`${name} ${entry} failed:\n${child.output.join('')}`);
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const rssMb = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const health = (url) =>
  new Promise((resolve, reject) => {
    const req = http.get(`${url}/cdn-cgi/access/health`, { headers: { host: 'bench' }, agent }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => {
        try {
          resolve(JSON.parse(body));
        } catch (e) {
          reject(e);
        }
      });
    });
    req.on('error', reject);
  });
const varzBytes = async (nats) => {
  const v = await (await fetch(`${nats.monitorUrl}/varz`)).json();
  return v.in_bytes + v.out_bytes;
};
const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];

const nats = await startNats();
const tokenDb = await createTestDatabase();
const gwDb = await createTestDatabase();
const hashKey = randomBytes(32).toString('hex');
const env = { NATS_URL: nats.url, GATEHOUSE_HASH_KEY: hashKey, GATEHOUSE_LOG_LEVEL: 'warn' };
const children = [];
try {
  await runOnce('token-service', 'migrate.js', { ...env, DATABASE_URL: tokenDb.url });
  const c = new pg.Client({ connectionString: tokenDb.url });
  await c.connect();
  const accountId = (await c.query('SELECT id FROM accounts LIMIT 1')).rows[0].id;
  await c.query('BEGIN');
  const { rows } = await c.query('SELECT replica_next_revision() AS revision');
  await c.query(
    `INSERT INTO service_tokens (account_id, name, client_id, duration, secret_hash, expires_at, created_at, updated_at, revision)
     SELECT $1, 'bench-' || g, md5(g::text) || '.access', '8760h', encode(sha256(g::text::bytea), 'hex'), now() + interval '365 days', now(), now(), $2
       FROM generate_series(1, $3) g`,
    [accountId, rows[0].revision, TOKENS],
  );
  await c.query('COMMIT');
  await c.end();
  children.push(run('token-service', 'main.js', { ...env, DATABASE_URL: tokenDb.url }));
  const gwPort = await freePort();
  const gwEnv = { ...env, DATABASE_URL: gwDb.url, GATEHOUSE_GATEWAY_PORT: String(gwPort), GATEHOUSE_RESYNC_INTERVAL_MS: '10000' };
  await runOnce('auth-service', 'migrate.js', gwEnv);
  const rpc = await connectRpc(nats.url, 'bench-repl', 10_000);
  await (async () => {
    for (;;) {
      try {
        return await rpc.request(ListAccounts, {});
      } catch {
        await sleep(100);
      }
    }
  })();
  const started = Date.now();
  const gateway = run('auth-service', 'main.js', gwEnv);
  children.push(gateway);
  const gwUrl = `http://127.0.0.1:${gwPort}`;
  for (;;) {
    const h = await health(gwUrl).catch(() => null);
    if (h?.status === 'ok' || h?.status === 'stale') break;
    if (Date.now() - started > 300_000) throw new Error(`gateway not loaded:\n${gateway.output.join('')}`);
    await sleep(20);
  }
  const loadedMs = Date.now() - started;
  await sleep(2000);
  const rss = rssMb(gateway.pid);

  // Lag at a fixed rate: each update's revision vs the first time the gateway's watermark covers it.
  const token = await rpc.request(CreateServiceToken, { accountId, name: 'bench-lag', actor });
  const pending = new Map(); // revision -> acknowledged at
  const lags = [];
  let watching = true;
  const watcher = (async () => {
    while (watching || pending.size) {
      const h = await health(gwUrl).catch(() => null);
      const now = performance.now();
      if (h) {
        for (const [rev, at] of pending) {
          if (h.revision < rev) continue;
          lags.push(now - at);
          pending.delete(rev);
        }
      }
      await sleep(1);
    }
  })();
  const revisionAfter = async () => (await health(gwUrl)).revision;
  let expected = await revisionAfter();
  const interval = 1000 / RATE;
  const t0 = performance.now();
  for (let i = 0; i < RATE * SECONDS; i++) {
    const due = t0 + i * interval;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    void rpc
      .request(UpdateServiceToken, { accountId, tokenId: token.id, name: `bench-lag-${i}`, actor })
      .then(() => pending.set(++expected, performance.now()));
  }
  await sleep(3000);
  watching = false;
  await Promise.race([watcher, sleep(5000)]);
  lags.sort((a, b) => a - b);

  // Idle: nothing changes; what crosses NATS (head polls, pings) per minute.
  await sleep(2000);
  const before = await varzBytes(nats);
  await sleep(IDLE_SECONDS * 1000);
  const idleBytesPerMinute = Math.round(((await varzBytes(nats)) - before) * (60 / IDLE_SECONDS));

  console.log(
    JSON.stringify({
      tokens: TOKENS,
      gateway_loaded_ms: loadedMs,
      gateway_rss_mb: Math.round(rss),
      gateway_rss_bytes_per_token: Math.round((rss * 1024 * 1024) / TOKENS),
      changes_per_s: RATE,
      changes_measured: lags.length,
      lag_p50_ms: Number(pct(lags, 0.5)?.toFixed(1)),
      lag_p99_ms: Number(pct(lags, 0.99)?.toFixed(1)),
      idle_nats_bytes_per_minute: idleBytesPerMinute,
    }),
  );
  // Whatever the gateway warned about (failed pulls would explain a lag outlier).
  const warnings = gateway.output
    .join('')
    .split('\n')
    .filter((l) => /WARN|ERROR/.test(l));
  if (warnings.length) console.error(warnings.slice(0, 20).join('\n'));
  await rpc.close();
} finally {
  for (const child of children) child.kill('SIGTERM');
  await Promise.all(children.map(exited));
  await tokenDb.drop();
  await gwDb.drop();
  await nats.stop();
}
