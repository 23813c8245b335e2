#!/usr/bin/env node
// `npm test`: builds every workspace; type-checks and lints it beside the tests (at low priority);
// checks each service's migrations for drift against a fresh database, runs unit + integration
// tests of every workspace, then the end-to-end tests, and closes with one line: "N passed, N failed, N skipped".
// Needs PostgreSQL on TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres)
// and the nats-server binary (tests start their own servers); `.ci/run` makes sure of both.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { onProjectNode } from './lib/node-runtime.mjs';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const totals = { passed: 0, failed: 0, skipped: 0 };
const failures = [];

/**
 * A step that runs beside the tests, at the lowest CPU priority (`nice -n 19`): it takes mostly
 * the CPU the tests leave idle (on 2 shared vCPUs it still slows them somewhat:
 * docs/performance.md, "Session 16"). Its output is kept and shown when the run ends; its
 * failure fails the run.
 */
function besideTests(title, cmd, args) {
  const started = Date.now();
  const child = spawn('nice', ['-n', '19', cmd, ...args], { cwd: ROOT, env: { ...process.env, FORCE_COLOR: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout.on('data', (d) => (text += d));
  child.stderr.on('data', (d) => (text += d));
  const done = new Promise((res) => {
    child.on('error', (error) => res({ code: 1, text: `${text}${error.message}\n` }));
    child.on('exit', (code, signal) => res({ code: code ?? 1, text: signal ? `${text}killed by ${signal}\n` : text }));
  });
  return async () => {
    const { code, text } = await done;
    console.log(`\n\x1b[1m== ${title} (beside the tests, ${((Date.now() - started) / 1000).toFixed(0)} s)\x1b[0m`);
    process.stdout.write(text);
    console.log(code === 0 ? 'ok' : `exit code ${code}`);
    if (code !== 0) failures.push(title);
  };
}

function step(title, cmd, args, env = {}) {
  console.log(`\n\x1b[1m== ${title}\x1b[0m`);
  return new Promise((res) => {
    const child = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, FORCE_COLOR: '0', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    const keep = (out) => (d) => {
      text += d;
      out.write(d);
    };
    child.stdout.on('data', keep(process.stdout));
    child.stderr.on('data', keep(process.stderr));
    child.on('exit', (code) => {
      for (const m of text.matchAll(/Tests:\s+([^\n]*?)(\d+) total/g)) {
        const part = (name) => Number((new RegExp(`(\\d+) ${name}`).exec(m[1]) ?? [0, 0])[1]);
        totals.passed += part('passed');
        totals.failed += part('failed');
        totals.skipped += part('skipped') + part('todo');
      }
      if (code !== 0) failures.push(title);
      res(code === 0);
    });
  });
}

async function driftChecks() {
  const pg = (await import('pg')).default;
  const admin = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  for (const app of readdirSync(join(ROOT, 'apps'))) {
    const migrate = join('apps', app, 'dist', 'migrate.js');
    if (!existsSync(join(ROOT, migrate))) continue;
    const name = `gh_drift_${app.replace(/-/g, '_')}_${randomBytes(3).toString('hex')}`;
    const client = new pg.Client({ connectionString: admin });
    await client.connect();
    await client.query(`CREATE DATABASE "${name}"`);
    const url = new URL(admin);
    url.pathname = `/${name}`;
    await step(`migrations of ${app}: fresh database, then drift check`, process.execPath, [migrate, '--check'], { DATABASE_URL: url.toString() });
    await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await client.end();
  }
}

// Every step runs on the project's Node (`npm test` finds it on PATH; `node scripts/test.mjs` too).
if (onProjectNode(join(ROOT, '.gatehouse'))) await new Promise(() => {});
const started = Date.now();
if (await step('build', 'npx', ['turbo', 'run', 'build', '--output-logs=errors-only'])) {
  // Type-check and lint (type-aware: it reads the libs' dist/*.d.ts, so after the build) took a
  // third of the run one after the other, on a core the tests mostly leave idle (jest runs each
  // package's tests in one process on 2 cores). They run beside the tests instead, one after the
  // other at the lowest priority; a finding fails the run but does not hold back the tests.
  const checks = besideTests('type-check, then lint', 'sh', ['-c', 'npx turbo run typecheck --output-logs=errors-only && npm run lint --silent']);
  await driftChecks();
  await step('unit and integration tests', 'npx', ['turbo', 'run', 'test', '--concurrency=1', '--continue']);
  await step('end-to-end tests', 'npm', ['run', 'test:e2e', '-w', '@gatehouse/e2e']);
  await checks();
}
const minutes = ((Date.now() - started) / 60_000).toFixed(1);
console.log(`\n${failures.length ? `\x1b[31mFailed steps: ${failures.join('; ')}\x1b[0m\n` : ''}Finished in ${minutes} min`);
console.log(`${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
process.exit(failures.length ? 1 : 0);
