import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expectEventually, freePort } from '@gatehouse/testing';
import { ROOT } from '../src/system.js';

/**
 * The README's first command: `npm start` (scripts/start.mjs) on a fresh state folder starts an
 * embedded PostgreSQL, a local nats-server, maildev and every service, prints where each listens
 * and the new admin token once, serves the lifecycle, and stops everything on Ctrl-C (SIGINT).
 */
describe('npm start', () => {
  const state = mkdtempSync(join(tmpdir(), 'gh-start-'));
  let ports: Record<string, number>;
  const managementPorts: Record<string, string> = {};
  let child: ChildProcess | undefined;
  let output = '';

  const start = () => {
    output = '';
    child = spawn(process.execPath, ['scripts/start.mjs'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/tmp',
        GATEHOUSE_STATE_DIR: state,
        GATEHOUSE_PG_PORT: String(ports.pg),
        GATEHOUSE_NATS_PORT: String(ports.nats),
        GATEHOUSE_API_PORT: String(ports.api),
        GATEHOUSE_GATEWAY_PORT: String(ports.gateway),
        GATEHOUSE_MAILDEV_SMTP_PORT: String(ports.smtp),
        GATEHOUSE_MAILDEV_WEB_PORT: String(ports.web),
        ...managementPorts,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (d) => (output += d));
    child.stderr!.on('data', (d) => (output += d));
    return expectEventually(() => expect(output).toContain('Gatehouse is running'), { timeoutMs: 150_000, intervalMs: 250 }).catch((e) => {
      throw new Error(`npm start did not come up:\n${output.slice(-4000)}\n${(e as Error).message}`);
    });
  };

  const stop = async () => {
    const c = child!;
    const code = await new Promise<number | null>((resolve) => {
      c.once('exit', (exitCode) => resolve(exitCode));
      c.kill('SIGINT');
    });
    child = undefined;
    return code;
  };

  beforeAll(async () => {
    ports = { pg: await freePort(), nats: await freePort(), api: await freePort(), gateway: await freePort(), smtp: await freePort(), web: await freePort() };
    for (const name of ['API', 'GATEWAY', 'TOKEN_SERVICE', 'NOTIFICATION_SERVICE']) managementPorts[`GATEHOUSE_${name}_MANAGEMENT_PORT`] = String(await freePort());
  });

  // A failed assertion must not leave the system running into the next test.
  afterEach(async () => {
    if (child) await stop();
  });

  afterAll(() => rmSync(state, { recursive: true, force: true }));

  it('starts everything from a fresh state folder, serves the API, and stops cleanly on Ctrl-C', async () => {
    await start();
    const adminToken = readFileSync(join(state, 'admin-token'), 'utf8').trim();
    expect(output).toContain(`Admin token      ${adminToken}`);
    expect(output).toMatch(/embedded PostgreSQL on 127\.0\.0\.1:\d+/);
    expect(output).toMatch(/local nats-server on 127\.0\.0\.1:\d+/);

    const api = `http://127.0.0.1:${ports.api}/client/v4`;
    const headers = { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' };
    const accounts = (await (await fetch(`${api}/accounts`, { headers })).json()) as { result: Array<{ id: string }> };
    const created = await fetch(`${api}/accounts/${accounts.result[0]!.id}/access/service_tokens`, { method: 'POST', headers, body: JSON.stringify({ name: 'from-npm-start' }) });
    expect(created.status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${ports.gateway}/cdn-cgi/access/certs`)).status).toBe(200);
    const mailPage = await fetch(`http://127.0.0.1:${ports.web}/`);
    expect(mailPage.status).toBe(200);
    expect(await mailPage.text()).toMatch(/MailDev/i);
    expect((await fetch(`http://127.0.0.1:${ports.web}/email`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${ports.api}/`)).headers.get('content-type')).toMatch(/text\/html/);

    await expect(stop()).resolves.toBe(0);
    await expect(fetch(`${api}/accounts`)).rejects.toThrow();
  }, 240_000);

  it('keeps its state: a second start reuses the database and does not show the admin token again', async () => {
    await start();
    expect(output).not.toMatch(/Admin token +[0-9a-f]{64}/);
    expect(output).toContain('stored in');
    const adminToken = readFileSync(join(state, 'admin-token'), 'utf8').trim();
    const api = `http://127.0.0.1:${ports.api}/client/v4`;
    const headers = { authorization: `Bearer ${adminToken}` };
    const accounts = (await (await fetch(`${api}/accounts`, { headers })).json()) as { result: Array<{ id: string }> };
    const list = (await (await fetch(`${api}/accounts/${accounts.result[0]!.id}/access/service_tokens?name=from-npm-start`, { headers })).json()) as { result: unknown[] };
    expect(list.result).toHaveLength(1);
    await expect(stop()).resolves.toBe(0);
  }, 240_000);
});
