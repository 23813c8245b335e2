import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { usageError } from './errors.js';

export const DEFAULT_API_URL = 'http://127.0.0.1:8080';

export interface Connection {
  apiUrl: string;
  adminToken: string;
}

/** The nearest `.gatehouse/admin-token` from `cwd` upwards (what `npm start` writes), if any. */
export function findProjectToken(cwd: string): { path: string; token: string } | undefined {
  let dir = resolve(cwd);
  for (;;) {
    const path = join(dir, '.gatehouse', 'admin-token');
    if (existsSync(path)) {
      const token = readFileSync(path, 'utf8').trim();
      if (token) return { path, token };
    }
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/** The admin token `npm start` keeps in GATEHOUSE_STATE_DIR (when that moves its state folder), if any. */
function stateDirToken(stateDir: string | undefined): string | undefined {
  if (!stateDir?.trim()) return undefined;
  const path = join(resolve(stateDir.trim()), 'admin-token');
  return existsSync(path) ? readFileSync(path, 'utf8').trim() || undefined : undefined;
}

/**
 * GATEHOUSE_API_URL (default http://127.0.0.1:8080) and GATEHOUSE_ADMIN_TOKEN, else the token
 * `npm start` wrote: in GATEHOUSE_STATE_DIR when set (as for `npm start`), else the project's
 * `.gatehouse/admin-token`.
 */
export function resolveConnection(env: NodeJS.ProcessEnv, cwd: string): Connection {
  const raw = env.GATEHOUSE_API_URL?.trim() || DEFAULT_API_URL;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw usageError(`GATEHOUSE_API_URL must be a URL such as ${DEFAULT_API_URL} (got "${raw}")`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw usageError(`GATEHOUSE_API_URL must start with http:// or https:// (got "${raw}")`);
  const adminToken = env.GATEHOUSE_ADMIN_TOKEN?.trim() || stateDirToken(env.GATEHOUSE_STATE_DIR) || findProjectToken(cwd)?.token;
  if (!adminToken) {
    throw usageError(
      'No admin token: set GATEHOUSE_ADMIN_TOKEN, or run gatehouse inside the project folder after `npm start` (it reads .gatehouse/admin-token, or admin-token in GATEHOUSE_STATE_DIR).',
    );
  }
  return { apiUrl: url.href.replace(/\/+$/, ''), adminToken };
}
