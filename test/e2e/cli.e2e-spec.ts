import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, expectEventually, freePort } from '@gatehouse/testing';
import { runCli, spawnCli, type CliResult } from '../src/cli.js';
import { runOnce, runService, startSystem, type System } from '../src/system.js';

/** The `gatehouse` command against the real system (token service, API, notification service as processes). */
describe('gatehouse CLI (real processes)', () => {
  let sys: System;
  let env: Record<string, string>;
  let accountId: string;
  let tokens: string;

  beforeAll(async () => {
    sys = await startSystem();
    const notifyDb = await createTestDatabase(undefined, 'gh_e2e_cli_notify');
    const notifyEnv = {
      ...sys.serviceEnv('notification-service'),
      DATABASE_URL: notifyDb.url,
      SMTP_URL: `smtp://127.0.0.1:${await freePort()}`,
      GATEHOUSE_NOTIFY_TICK_MS: '200',
    };
    await runOnce('notification-service', 'migrate.js', notifyEnv);
    sys.processes.set('notification-service', runService('notification-service', notifyEnv));
    const stop = sys.stop;
    sys.stop = async () => {
      await stop();
      await notifyDb.drop();
    };
    env = { GATEHOUSE_API_URL: sys.apiUrl, GATEHOUSE_ADMIN_TOKEN: sys.adminToken };
    accountId = await sys.defaultAccountId();
    tokens = `/client/v4/accounts/${accountId}/access/service_tokens`;
  });
  afterAll(async () => sys?.stop());

  const gatehouse = (...args: string[]) => runCli(args, env);
  const ok = async (...args: string[]): Promise<CliResult> => {
    const r = await gatehouse(...args);
    if (r.code !== 0) throw new Error(`gatehouse ${args.join(' ')} exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
    return r;
  };
  const okJson = async (...args: string[]) => JSON.parse((await ok('--json', ...args)).stdout);
  const noStack = (r: CliResult) => expect(`${r.stdout}${r.stderr}`).not.toMatch(/\n\s+at .+:\d+:\d+/);

  it('creates a token and prints its secret once; --json for scripts', async () => {
    const human = await ok('tokens', 'create', '--name', 'cli-human', '--duration', '720h');
    expect(human.stdout).toMatch(/CF-Access-Client-Secret\s+gatehouse_[0-9A-Za-z]{49}/);
    expect(human.stdout).toMatch(/shown only this once/);

    const created = await okJson('tokens', 'create', '--name', 'cli-ci', '--duration', '30d');
    expect(created).toMatchObject({ name: 'cli-ci', duration: '720h', enabled: true, client_secret: expect.stringMatching(/^gatehouse_/) });
    const stored = await sys.api(`${tokens}/${created.id}`);
    expect(stored.body.result).toMatchObject({ id: created.id, name: 'cli-ci', duration: '720h' });
    expect(stored.body.result.client_secret).toBeUndefined();

    const shown = await ok('tokens', 'get', 'cli-ci');
    expect(shown.stdout).toContain(created.client_id);
    expect(shown.stdout).not.toContain(created.client_secret);
  });

  it('lists tokens, filtered by text and by expiry', async () => {
    const soon = await okJson('tokens', 'create', '--name', 'cli-soon', '--duration', '48h');
    await okJson('tokens', 'create', '--name', 'cli-later', '--duration', '8760h');
    const expiring = await okJson('tokens', 'list', '--expiring-within', '7d');
    expect(expiring.map((t: { id: string }) => t.id)).toEqual([soon.id]);
    const searched = await okJson('tokens', 'list', '--search', 'cli-la');
    expect(searched.map((t: { name: string }) => t.name)).toEqual(['cli-later']);
    const table = await ok('tokens', 'list');
    expect(table.stdout.split('\n')[0]).toMatch(/^ID\s+NAME\s+CLIENT ID\s+ENABLED\s+EXPIRES\s+LAST SEEN$/);
    expect(table.stdout).toContain('cli-soon');
  });

  it('refreshes, rotates with a grace time, disables, enables and deletes a token by name', async () => {
    const t = await okJson('tokens', 'create', '--name', 'cli-life', '--duration', '1h');
    const refreshed = await okJson('tokens', 'refresh', 'cli-life');
    expect(Date.parse(refreshed.expires_at)).toBeGreaterThanOrEqual(Date.parse(t.expires_at));

    const before = Date.now();
    const rotated = await okJson('tokens', 'rotate', 'cli-life', '--grace', '24h');
    expect(rotated.client_secret).toMatch(/^gatehouse_/);
    expect(rotated.client_secret).not.toBe(t.client_secret);
    expect(rotated.client_secret_version).toBe(2);
    const grace = Date.parse(rotated.previous_client_secret_expires_at) - before;
    expect(grace).toBeGreaterThan(24 * 3_600_000 - 60_000);
    expect(grace).toBeLessThan(24 * 3_600_000 + 60_000);

    expect((await okJson('tokens', 'disable', 'cli-life')).enabled).toBe(false);
    expect((await sys.api(`${tokens}/${t.id}`)).body.result.enabled).toBe(false);
    expect((await okJson('tokens', 'enable', t.id)).enabled).toBe(true);
    await ok('tokens', 'delete', 'cli-life');
    expect((await sys.api(`${tokens}/${t.id}`)).status).toBe(404);
  });

  it('refuses an ambiguous or unknown name, listing the candidates', async () => {
    const a = await okJson('tokens', 'create', '--name', 'cli-twin');
    const b = await okJson('tokens', 'create', '--name', 'cli-twin');
    const twin = await gatehouse('tokens', 'disable', 'cli-twin');
    expect(twin.code).toBe(2);
    expect(twin.stderr).toContain(a.id);
    expect(twin.stderr).toContain(b.id);
    expect((await sys.api(`${tokens}/${a.id}`)).body.result.enabled).toBe(true);

    const unknown = await gatehouse('tokens', 'delete', 'cli-twi');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/No service token is named or has the id "cli-twi"; did you mean/);
    expect(unknown.stderr).toContain(a.id);
    noStack(unknown);
  });

  it('manages apps and their policies', async () => {
    const token = await okJson('tokens', 'create', '--name', 'cli-app-token');
    const app = await okJson('apps', 'create', '--name', 'cli-app', '--domain', 'cli.example.test', '--upstream', 'http://127.0.0.1:9');
    expect(app).toMatchObject({ name: 'cli-app', domain: 'cli.example.test', upstream: 'http://127.0.0.1:9', aud: expect.any(String) });
    expect((await ok('apps', 'list')).stdout).toMatch(/cli-app\s+cli\.example\.test/);
    expect((await okJson('apps', 'get', 'cli.example.test')).id).toBe(app.id);

    const policy = await okJson('policies', 'create', '--app', 'cli-app', '--name', 'ci only', '--token', 'cli-app-token');
    expect(policy).toMatchObject({ name: 'ci only', decision: 'non_identity', include: [{ service_token: { token_id: token.id } }] });
    expect((await ok('policies', 'list', '--app', app.id)).stdout).toContain(`token ${token.id}`);
    await ok('policies', 'delete', '--app', 'cli-app', 'ci only');
    expect(await okJson('policies', 'list', '--app', 'cli-app')).toEqual([]);

    await ok('apps', 'delete', 'cli-app');
    expect((await sys.api(`/client/v4/accounts/${accountId}/access/apps/${app.id}`)).status).toBe(404);
  });

  it('creates an expiring-token alert with email recipients and lists its history', async () => {
    await expectEventually(async () => expect((await gatehouse('alerts', 'list')).code).toBe(0), { timeoutMs: 30_000, intervalMs: 200 });
    const policy = await okJson('alerts', 'create', '--name', 'cli ops', '--email', 'ops@example.test', '--email', 'sre@example.test');
    expect(policy).toMatchObject({
      alert_type: 'expiring_service_token_alert',
      enabled: true,
      mechanisms: { email: [{ id: 'ops@example.test' }, { id: 'sre@example.test' }] },
    });
    expect((await ok('alerts', 'list')).stdout).toMatch(/cli ops\s+yes\s+ops@example\.test, sre@example\.test/);

    const expiring = await okJson('tokens', 'create', '--name', 'cli-alerted', '--duration', '24h');
    await expectEventually(
      async () => {
        const history = await okJson('alerts', 'history', '--token', 'cli-alerted');
        expect(history.map((d: { mechanism: string }) => d.mechanism).sort()).toEqual(['ops@example.test', 'sre@example.test']);
        expect(history[0].token.id).toBe(expiring.id);
      },
      { timeoutMs: 20_000, intervalMs: 300 },
    );
    await ok('alerts', 'delete', 'cli ops');
    expect(await okJson('alerts', 'list')).toEqual([]);
  });

  it('tails the audit log, and --follow prints new events until Ctrl-C', async () => {
    await okJson('tokens', 'create', '--name', 'cli-audited');
    const tail = await ok('audit', 'tail', '--lines', '5');
    expect(tail.stdout).toMatch(/service_token\.created\s+service_token "cli-audited"/);

    const follow = spawnCli(['audit', 'tail', '--lines', '1', '--follow', '--interval', '200ms'], env);
    const exited = new Promise<number | null>((resolve) => follow.once('close', resolve));
    try {
      await expectEventually(() => expect(follow.stdoutText()).toContain('cli-audited'), { timeoutMs: 10_000 });
      await okJson('tokens', 'create', '--name', 'cli-followed');
      await expectEventually(() => expect(follow.stdoutText()).toMatch(/service_token\.created\s+service_token "cli-followed"/), { timeoutMs: 10_000 });
    } finally {
      follow.kill('SIGINT');
    }
    await expect(exited).resolves.toBe(0);
    expect(follow.stdoutText().match(/cli-audited/g)).toHaveLength(1);
  });

  it('exits 2 for usage errors, 1 for refusals with the API message, 3 when the API cannot be reached; never a stack', async () => {
    const usage = await gatehouse('tokens', 'create');
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/required option '--name <name>'/);
    const badGrace = await gatehouse('tokens', 'rotate', 'x', '--grace', 'tomorrow');
    expect(badGrace.code).toBe(2);
    expect(badGrace.stderr).toMatch(/--grace must be a duration/);

    const refused = await gatehouse('tokens', 'create', '--name', 'cli-bad', '--duration', 'soon');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/The admin API refused \(HTTP 400\): duration: must be a duration/);

    const wrongToken = await runCli(['tokens', 'list'], { ...env, GATEHOUSE_ADMIN_TOKEN: 'not-the-admin-token-at-all-xxxxxxxx' });
    expect(wrongToken.code).toBe(1);
    expect(wrongToken.stderr).toMatch(/HTTP 403\): Invalid admin token/);

    const down = await runCli(['tokens', 'list'], { ...env, GATEHOUSE_API_URL: `http://127.0.0.1:${await freePort()}` });
    expect(down.code).toBe(3);
    expect(down.stderr).toMatch(/Cannot reach the admin API at http:\/\/127\.0\.0\.1:\d+: connection refused/);

    for (const r of [usage, badGrace, refused, wrongToken, down]) noStack(r);
    const help = await gatehouse('tokens', 'rotate', '--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--grace <duration>/);
  });

  it('reads .gatehouse/admin-token from the project folder, walking up from the working directory', async () => {
    const project = mkdtempSync(join(tmpdir(), 'gatehouse-cli-'));
    try {
      mkdirSync(join(project, '.gatehouse'));
      writeFileSync(join(project, '.gatehouse', 'admin-token'), `${sys.adminToken}\n`);
      const deep = join(project, 'a', 'b');
      mkdirSync(deep, { recursive: true });
      const r = await runCli(['--json', 'tokens', 'list', '--search', 'cli-ci'], { GATEHOUSE_API_URL: sys.apiUrl }, deep);
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout).map((t: { name: string }) => t.name)).toEqual(['cli-ci']);
      const outside = await runCli(['tokens', 'list'], { GATEHOUSE_API_URL: sys.apiUrl }, tmpdir());
      expect(outside.code).toBe(2);
      expect(outside.stderr).toMatch(/No admin token: set GATEHOUSE_ADMIN_TOKEN/);
    } finally {
      rmSync(project, { recursive: true, force: true });
    }
  });
});
