import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expectEventually } from '@gatehouse/testing';
import { freeStartPorts, startScriptEnv, type StartPorts } from '../src/start-script.js';
import { ROOT } from '../src/system.js';

interface Example {
  file: string;
  line: number;
  code: string;
}

/**
 * Every fenced ```sh block of README.md and docs/*.md, in order. A block marked ```sh no-run
 * (commands for another machine, such as a production backup) is listed apart.
 */
function examples() {
  const files = [
    'README.md',
    ...readdirSync(join(ROOT, 'docs'))
      .filter((f) => f.endsWith('.md'))
      .sort()
      .map((f) => `docs/${f}`),
  ];
  const run: Example[] = [];
  const noRun: Example[] = [];
  for (const file of files) {
    const text = readFileSync(join(ROOT, file), 'utf8');
    for (const m of text.matchAll(/^```sh([^\n]*)\n([\s\S]*?)^```\s*$/gm)) {
      const example = { file, line: text.slice(0, m.index).split('\n').length, code: m[2]! };
      (/\bno-run\b/.test(m[1]!) ? noRun : run).push(example);
    }
  }
  return { run, noRun };
}

/**
 * The documentation's shell examples run as written after `npm start`: this file starts the
 * system with scripts/start.mjs (on free ports, in a state folder of its own), runs the examples
 * of each file in order in one bash (`set -euo pipefail`, so every failing command fails the
 * test), with only the defaults the docs name — http://127.0.0.1:8080, :8000, :1080, :1025 and
 * .gatehouse/admin-token — pointed at this system (and, for tools that read them,
 * GATEHOUSE_STATE_DIR and GATEHOUSE_API_URL set to it).
 */
describe('documentation examples', () => {
  const { run, noRun } = examples();
  const files = [...new Set(run.map((e) => e.file))];
  const state = mkdtempSync(join(tmpdir(), 'gh-docs-'));
  let ports: StartPorts;
  let child: ChildProcess | undefined;
  let output = '';

  beforeAll(async () => {
    ports = await freeStartPorts();
    child = spawn(process.execPath, ['scripts/start.mjs', '--no-build'], {
      cwd: ROOT,
      env: startScriptEnv(ports, state),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (d) => (output += d));
    child.stderr!.on('data', (d) => (output += d));
    await expectEventually(() => expect(output).toContain('Gatehouse is running'), { timeoutMs: 120_000, intervalMs: 250 }).catch((e: unknown) => {
      throw new Error(`npm start did not come up:\n${output.slice(-4000)}\n${(e as Error).message}`);
    });
  }, 150_000);

  afterAll(async () => {
    const c = child;
    if (c && c.exitCode === null) {
      await new Promise((resolve) => {
        c.once('exit', resolve);
        c.kill('SIGINT');
      });
    }
    rmSync(state, { recursive: true, force: true });
  });

  const pointedAtThisSystem = (code: string) =>
    code
      .replaceAll('127.0.0.1:8080', `127.0.0.1:${ports.api}`)
      .replaceAll('127.0.0.1:8000', `127.0.0.1:${ports.gateway}`)
      .replaceAll('127.0.0.1:1080', `127.0.0.1:${ports.web}`)
      .replaceAll('127.0.0.1:1025', `127.0.0.1:${ports.smtp}`)
      .replaceAll('127.0.0.1:9461', `127.0.0.1:${ports.apiManagement}`)
      .replaceAll('127.0.0.1:9462', `127.0.0.1:${ports.gatewayManagement}`)
      .replaceAll('127.0.0.1:9463', `127.0.0.1:${ports.tokenManagement}`)
      .replaceAll('127.0.0.1:9464', `127.0.0.1:${ports.notificationManagement}`)
      .replaceAll('.gatehouse/admin-token', join(state, 'admin-token'));

  it('finds the examples: the README starts with runnable ones that call the gateway with a service token; few are marked no-run', () => {
    const readme = run.filter((e) => e.file === 'README.md');
    expect(readme.length).toBeGreaterThanOrEqual(2);
    expect(readme.map((e) => e.code).join('\n')).toMatch(/CF-Access-Client-Id: \$CLIENT_ID[\s\S]*http:\/\/127\.0\.0\.1:8000/);
    expect(noRun.length).toBeLessThanOrEqual(Math.max(3, Math.floor(run.length / 3)));
  });

  it.each(files)(
    '%s: every shell example runs as written',
    async (file) => {
      const blocks = run.filter((e) => e.file === file);
      const script = blocks.map((e) => `echo "--- ${file}:${e.line}" >&2\n${pointedAtThisSystem(e.code)}`).join('\n');
      const result = await new Promise<{ code: number | null; out: string }>((resolve) => {
        const bash = spawn('bash', ['-euo', 'pipefail', '-c', script], {
          cwd: ROOT,
          env: {
            PATH: process.env.PATH ?? '',
            HOME: process.env.HOME ?? '/tmp',
            GATEHOUSE_STATE_DIR: state,
            GATEHOUSE_API_URL: `http://127.0.0.1:${ports.api}`,
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        bash.stdout.on('data', (d) => (out += d));
        bash.stderr.on('data', (d) => (out += d));
        const timer = setTimeout(() => bash.kill('SIGKILL'), 90_000);
        bash.on('exit', (code) => (clearTimeout(timer), resolve({ code, out })));
      });
      if (result.code !== 0)
        throw new Error(`an example of ${file} failed (exit ${result.code}); the last "---" line names its block:\n${result.out.slice(-3000)}`);
    },
    120_000,
  );

  it('the banner, the README and the JWT iss agree on one host', async () => {
    const gateway = `http://127.0.0.1:${ports.gateway}`;
    expect(output).toMatch(new RegExp(`Gateway +${gateway} .*JWT iss: ${gateway}\\)`));
    expect(readFileSync(join(ROOT, 'README.md'), 'utf8')).toContain('issued by http://127.0.0.1:8000');

    const adminToken = readFileSync(join(state, 'admin-token'), 'utf8').trim();
    const api = async (path: string, json: unknown) => {
      const res = await fetch(`http://127.0.0.1:${ports.api}/client/v4${path}`, {
        method: json ? 'POST' : 'GET',
        headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
        body: json ? JSON.stringify(json) : undefined,
      });
      expect(res.status).toBe(200);
      return ((await res.json()) as { result: any }).result;
    };
    const account = (await api('/accounts', null))[0].id;
    const token = await api(`/accounts/${account}/access/service_tokens`, { name: `iss-check-${Date.now()}` });
    const domain = `iss-${Date.now()}.example.com`;
    const app = await api(`/accounts/${account}/access/apps`, { name: 'iss check', domain });
    await api(`/accounts/${account}/access/apps/${app.id}/policies`, {
      name: 'iss check',
      decision: 'non_identity',
      include: [{ service_token: { token_id: token.id } }],
    });
    let jwt = '';
    await expectEventually(
      async () => {
        const res = await fetch(`${gateway}/cdn-cgi/access/authorize`, {
          headers: { 'x-original-url': `http://${domain}/`, 'cf-access-client-id': token.client_id, 'cf-access-client-secret': token.client_secret },
        });
        expect(res.status).toBe(200);
        jwt = res.headers.get('cf-access-jwt-assertion')!;
      },
      { timeoutMs: 5000 },
    );
    expect(JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString())).toMatchObject({ iss: gateway, aud: [app.aud] });
  }, 30_000);
});
