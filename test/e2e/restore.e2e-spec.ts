import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAccessVerifier } from '@gatehouse/access-verify';
import { createTestDatabase, expectEventually, freePort, startNats, type TestDatabase, type TestNats, wrongSecret } from '@gatehouse/testing';
import { natsSecurity, runOnce, runService, type ServiceProcess } from '../src/system.js';

/**
 * The restore drill of docs/operations.md: a system with one database for every service (as in
 * production), a token and a JWT issued by the gateway; then `pg_dump` → `psql` into a new
 * database, migrations, a new start on a new NATS with only the backed-up secrets (hash key,
 * admin token) → the token still authenticates and the JWT still verifies.
 */
describe('backup and restore', () => {
  const hashKey = randomBytes(32).toString('hex');
  const adminToken = randomBytes(24).toString('hex');
  const dumpDir = mkdtempSync(join(tmpdir(), 'gh-restore-'));
  const dbs: TestDatabase[] = [];
  const natsServers: TestNats[] = [];
  let processes: ServiceProcess[] = [];
  let ports: { api: number; gateway: number };

  const psqlTool = (tool: string, args: string[]) => {
    const r = spawnSync(tool, args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${tool} failed (${r.status ?? r.error?.message}): ${r.stderr}`);
    return r.stdout;
  };

  /** Migrates `db` (every service's own migrations), then starts the token service, API and gateway. */
  async function startOn(db: TestDatabase) {
    const security = natsSecurity(); // as production: a NATS user per service
    const nats = await startNats({ config: security.config });
    natsServers.push(nats);
    const env = {
      DATABASE_URL: db.url,
      NATS_URL: nats.url,
      GATEHOUSE_HASH_KEY: hashKey,
      GATEHOUSE_ADMIN_TOKEN: adminToken,
      GATEHOUSE_API_PORT: String(ports.api),
      GATEHOUSE_GATEWAY_PORT: String(ports.gateway),
      GATEHOUSE_TEAM_URL: `http://127.0.0.1:${ports.gateway}`,
      GATEHOUSE_LOG_LEVEL: 'warn',
      GATEHOUSE_API_MANAGEMENT_PORT: '0',
      GATEHOUSE_GATEWAY_MANAGEMENT_PORT: '0',
      GATEHOUSE_TOKEN_SERVICE_MANAGEMENT_PORT: '0',
    };
    const migrated = [await runOnce('token-service', 'migrate.js', env), await runOnce('auth-service', 'migrate.js', env)];
    processes = ['token-service', 'api', 'auth-service'].map((name) => runService(name, { ...env, ...security.envFor(name) }));
    await expectEventually(
      async () => {
        const health = (await (await fetch(`http://127.0.0.1:${ports.gateway}/cdn-cgi/access/health`)).json()) as { status: string };
        expect(health.status).toBe('ok');
        expect((await fetch(`http://127.0.0.1:${ports.api}/healthz`)).status).toBe(200);
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    ).catch((e) => {
      throw new Error(`system did not start: ${(e as Error).message}\n${processes.map((p) => p.output.join('')).join('\n')}`);
    });
    return migrated.join('');
  }

  const stopAll = async () => {
    await Promise.all(processes.map((p) => p.stop()));
    processes = [];
  };

  const api = async (path: string, json?: unknown) => {
    const res = await fetch(`http://127.0.0.1:${ports.api}/client/v4${path}`, {
      method: json === undefined ? 'GET' : 'POST',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: json === undefined ? undefined : JSON.stringify(json),
    });
    const body = (await res.json()) as { result: any };
    if (res.status !== 200) throw new Error(`${path}: ${res.status} ${JSON.stringify(body)}`);
    return body.result;
  };

  /** Forward auth as nginx asks it: the app from X-Original-URL, credentials as given. */
  const authorize = (domain: string, headers: Record<string, string>) =>
    fetch(`http://127.0.0.1:${ports.gateway}/cdn-cgi/access/authorize`, { headers: { 'x-original-url': `http://${domain}/reports`, ...headers } });

  beforeAll(async () => {
    ports = { api: await freePort(), gateway: await freePort() };
  });

  afterAll(async () => {
    await stopAll();
    await Promise.all(natsServers.map((n) => n.stop()));
    await Promise.all(dbs.map((d) => d.drop().catch(() => undefined)));
    rmSync(dumpDir, { recursive: true, force: true });
  });

  it('restores a pg_dump into a new database: existing tokens still authenticate, issued JWTs still verify', async () => {
    const original = await createTestDatabase();
    dbs.push(original);
    await startOn(original);

    const accountId = (await api('/accounts'))[0].id;
    const token = await api(`/accounts/${accountId}/access/service_tokens`, { name: 'survives-a-restore' });
    const domain = `restore-${randomBytes(4).toString('hex')}.example.com`;
    const app = await api(`/accounts/${accountId}/access/apps`, { name: 'Reports', domain });
    await api(`/accounts/${accountId}/access/apps/${app.id}/policies`, {
      name: 'the token',
      decision: 'non_identity',
      include: [{ service_token: { token_id: token.id } }],
    });
    const creds = { 'cf-access-client-id': token.client_id, 'cf-access-client-secret': token.client_secret };

    let jwt = '';
    await expectEventually(
      async () => {
        const res = await authorize(domain, creds);
        expect(res.status).toBe(200);
        jwt = res.headers.get('cf-access-jwt-assertion') ?? '';
      },
      { timeoutMs: 5000 },
    );
    expect((await authorize(domain, { ...creds, 'cf-access-client-secret': wrongSecret(token.client_secret) })).status).toBe(401);
    const verifier = () => createAccessVerifier({ teamUrl: `http://127.0.0.1:${ports.gateway}`, audience: app.aud });
    await expect(verifier().verify(jwt)).resolves.toMatchObject({ commonName: token.client_id });

    // The backup: the database (every service's tables); the secrets are kept apart.
    const dump = join(dumpDir, 'gatehouse.sql');
    psqlTool('pg_dump', ['--no-owner', '--no-privileges', '--file', dump, original.url]);
    await stopAll();

    // A new machine: a new, empty database restored from the dump, a new NATS, the same secrets.
    const restored = await createTestDatabase();
    dbs.push(restored);
    psqlTool('psql', ['--quiet', '--no-psqlrc', '-v', 'ON_ERROR_STOP=1', '--file', dump, restored.url]);
    await expect(startOn(restored)).resolves.toMatch(/schema up to date/);

    // The JWT issued before the backup: verified by a relying party (keys fetched anew) and by the gateway.
    await expect(verifier().verify(jwt)).resolves.toMatchObject({ commonName: token.client_id, audience: [app.aud] });
    expect((await authorize(domain, { 'cf-access-token': jwt })).status).toBe(200);
    // The token itself: its secret still matches the stored hash.
    const again = await authorize(domain, creds);
    expect(again.status).toBe(200);
    expect(again.headers.get('x-gatehouse-token-id')).toBe(token.id);
    await expect(api(`/accounts/${accountId}/access/service_tokens/${token.id}`)).resolves.toMatchObject({ name: 'survives-a-restore' });
  }, 120_000);
});
