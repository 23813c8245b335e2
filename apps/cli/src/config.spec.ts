import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConnection } from './config.js';

describe('resolveConnection: where the admin token comes from', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gh-cli-'));
    mkdirSync(join(dir, 'project', '.gatehouse'), { recursive: true });
    mkdirSync(join(dir, 'project', 'sub'), { recursive: true });
    mkdirSync(join(dir, 'state'));
    writeFileSync(join(dir, 'project', '.gatehouse', 'admin-token'), 'from-project\n');
    writeFileSync(join(dir, 'state', 'admin-token'), 'from-state-dir\n');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('takes GATEHOUSE_ADMIN_TOKEN first, then GATEHOUSE_STATE_DIR/admin-token, then the nearest .gatehouse/admin-token', () => {
    const cwd = join(dir, 'project', 'sub');
    expect(resolveConnection({ GATEHOUSE_ADMIN_TOKEN: 'from-env', GATEHOUSE_STATE_DIR: join(dir, 'state') }, cwd).adminToken).toBe('from-env');
    expect(resolveConnection({ GATEHOUSE_STATE_DIR: join(dir, 'state') }, cwd).adminToken).toBe('from-state-dir');
    expect(resolveConnection({}, cwd).adminToken).toBe('from-project');
    expect(resolveConnection({ GATEHOUSE_STATE_DIR: join(dir, 'no-such-folder') }, cwd).adminToken).toBe('from-project');
    expect(() => resolveConnection({}, dir)).toThrow(/No admin token/);
  });
});
