#!/usr/bin/env node
// The project's Node.js runtime: the `node` package pinned in the root package.json's
// devDependencies (Node 24 LTS from the npm registry). npm scripts find it first on PATH
// (node_modules/.bin); this module finds it, or fetches it before the first `npm ci`, for code
// started by some older system Node (Debian's Node 20) — so that npm itself, and every script,
// runs on the pinned version and dependencies asking for Node ≥ 22 install without warnings.
//
// As a command (used by .ci/run): prints the folder holding the `node` binary to put first on PATH.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));

export const pinnedVersion = () => JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).devDependencies.node;
const major = (version) => Number(String(version).replace(/^v/, '').split('.')[0]);

function versionOf(bin) {
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim().replace(/^v/, '') : null;
}

/**
 * The folder of a `node` binary of the pinned major version: this process's own when it is one,
 * else node_modules/.bin (after `npm ci`), else a copy installed once under `<state>/runtime`.
 */
export function runtimeBinDir(state = join(ROOT, '.gatehouse')) {
  const want = pinnedVersion();
  if (major(process.version) === major(want)) return dirname(process.execPath);
  for (const dir of [join(ROOT, 'node_modules', '.bin'), join(state, 'runtime', 'node_modules', '.bin')]) {
    const version = existsSync(join(dir, 'node')) ? versionOf(join(dir, 'node')) : null;
    if (version && major(version) === major(want)) return dir;
  }
  const prefix = join(state, 'runtime');
  mkdirSync(prefix, { recursive: true });
  // The package's install script fetches the platform binary's package: allowed by name.
  writeFileSync(join(prefix, 'package.json'), JSON.stringify({ private: true, allowScripts: { node: true } }) + '\n');
  console.error(`[gatehouse] Node ${process.version} is not the project's Node ${want}: installing it from the npm registry into ${prefix}`);
  const r = spawnSync('npm', ['install', '--prefix', prefix, '--no-save', '--no-audit', '--no-fund', '--no-package-lock', `node@${want}`], {
    stdio: ['ignore', 2, 2],
  });
  const dir = join(prefix, 'node_modules', '.bin');
  if (r.status !== 0 || !versionOf(join(dir, 'node')))
    throw new Error(`could not install node@${want} (npm install exited ${r.status}); install Node ${major(want)} and retry`);
  return dir;
}

/**
 * Runs the current script again on the project's Node when started by another major version (a
 * system Node 20 via `node scripts/start.mjs`, say); `npm start` and `npm test` already find it
 * on PATH. Returns true when the script now runs in a child, whose exit status this process takes.
 */
export function onProjectNode(state, log = (m) => console.error(`[gatehouse] ${m}`)) {
  if (major(process.version) === major(pinnedVersion())) return false;
  const bin = runtimeBinDir(state);
  log(`running on Node ${pinnedVersion()} from ${bin}`);
  const child = spawn(join(bin, 'node'), process.argv.slice(1), { stdio: 'inherit', env: { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` } });
  // Passed on to the child, which stops everything itself (after Ctrl-C it hears both: harmless).
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.removeAllListeners(signal);
    process.on(signal, () => child.kill(signal));
  }
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
  return true;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    console.log(runtimeBinDir(process.argv[2]));
  } catch (e) {
    console.error(`[gatehouse] ${e.message}`);
    process.exit(1);
  }
}
