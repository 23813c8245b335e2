import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './system.js';

export const CLI = join(ROOT, 'apps/cli/bin/gatehouse.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Starts the built `gatehouse` command as its own process (nothing of the caller's environment leaks in). */
export function spawnCli(args: string[], env: Record<string, string>, cwd = ROOT): ChildProcess & { stdoutText(): string } {
  const child = spawn(process.execPath, [CLI, ...args], { cwd, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  return Object.assign(child, { stdoutText: () => out });
}

/** Runs `gatehouse <args>` to completion. */
export function runCli(args: string[], env: Record<string, string>, cwd = ROOT): Promise<CliResult> {
  const child = spawnCli(args, env, cwd);
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout: child.stdoutText(), stderr }));
  });
}
