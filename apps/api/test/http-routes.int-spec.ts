import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NestExpressApplication } from '@nestjs/platform-express';
import net from 'node:net';
import { expectEventually, startNats, type TestNats } from '@gatehouse/testing';
import { startApi } from '../src/bootstrap.js';
import { loadEnv } from '../src/config/env.js';
import { DASHBOARD_ROUTES } from '../src/http/dashboard.js';

/**
 * The API's port over real HTTP: the dashboard's client routes get index.html, its assets are
 * files, and every other path (monitoring probes included) is a 404 in the v4 envelope.
 */
describe('API routes', () => {
  const OLD = 'old-admin-token-'.padEnd(40, 'o');
  const NEW = 'new-admin-token-'.padEnd(40, 'n');
  const dir = mkdtempSync(join(tmpdir(), 'gh-dashboard-'));
  let nats: TestNats;
  let app: NestExpressApplication;
  let url: string;

  beforeAll(async () => {
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>Gatehouse dashboard</title>');
    mkdirSync(join(dir, 'assets'));
    writeFileSync(join(dir, 'assets', 'index-abc.js'), 'console.log("dashboard")');
    nats = await startNats();
    const env = loadEnv({
      NATS_URL: nats.url,
      GATEHOUSE_API_PORT: '0',
      // Its management port too: the default (9461) may be another test's or a running system's.
      GATEHOUSE_API_MANAGEMENT_PORT: '0',
      GATEHOUSE_ADMIN_TOKENS: `${OLD},${NEW}`,
      GATEHOUSE_DASHBOARD_DIR: dir,
      GATEHOUSE_RPC_TIMEOUT_MS: '200',
      GATEHOUSE_LOG_LEVEL: 'error',
    });
    ({ app, url } = await startApi(env));
  });

  afterAll(async () => {
    await app?.close();
    await nats?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const get = (path: string, init: RequestInit = {}) => fetch(`${url}${path}`, { headers: { accept: 'text/html,*/*' }, ...init });

  it.each([
    '/',
    '/tokens',
    '/tokens/new',
    '/tokens/0d7c2f2e-1c1a-4e4e-9c1e-3f1b5a7f9a10',
    '/apps',
    '/apps/new',
    '/apps/x1/',
    '/notifications',
    '/notifications/new',
    '/notifications/n1',
    '/audit',
  ])('serves index.html for the dashboard route %s', async (path) => {
    const res = await get(path);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    await expect(res.text()).resolves.toContain('Gatehouse dashboard');
  });

  it('serves the dashboard assets as files', async () => {
    const res = await get('/assets/index-abc.js');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/javascript/);
    await expect(res.text()).resolves.toBe('console.log("dashboard")');
  });

  it.each([
    '/metrics',
    '/health',
    '/readyz',
    '/livez',
    '/status',
    '/assets/missing.js',
    '/tokens/x/extra',
    '/auditlog',
    '/favicon.ico',
    '/client/v4/nope',
    '/.env',
  ])('answers 404 in the v4 envelope for %s', async (path) => {
    const res = await get(path);
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    await expect(res.json()).resolves.toEqual({
      success: false,
      errors: [{ code: 7003, message: 'No route matches this method and path' }],
      messages: [],
      result: null,
    });
  });

  it('answers 404 for a write to a dashboard route', async () => {
    const res = await get('/tokens', { method: 'POST' });
    expect(res.status).toBe(404);
    await expect(res.json()).resolves.toMatchObject({ success: false, result: null });
  });

  it('keeps the route list in step with the dashboard router (apps/dashboard/src/App.tsx)', () => {
    const source = readFileSync(fileURLToPath(new URL('../../dashboard/src/App.tsx', import.meta.url)), 'utf8');
    const routes = source.slice(source.indexOf('function Routes('));
    const inApp = [...routes.matchAll(/path === '([^']+)'|match\('([^']+)'/g)].map((m) => m[1] ?? m[2]);
    expect(inApp.length).toBeGreaterThan(5);
    expect([...new Set(inApp)].sort()).toEqual([...DASHBOARD_ROUTES].sort());
  });

  it('documents in the served OpenAPI document every route Nest registers, and no other', async () => {
    // What Nest mounted on Express, as "METHOD /path/{param}".
    const stack = app.getHttpAdapter().getInstance().router.stack;
    const registered = stack.flatMap((layer) => {
      const route = layer.route as { path: string; methods: Record<string, boolean> } | undefined;
      // Middleware has no route; a wildcard route is the catch-all 404 that Nest adds last.
      if (!route || route.path.includes('*')) return [];
      return Object.keys(route.methods).map((method) => `${method.toUpperCase()} ${route.path.replace(/:(\w+)/g, '{$1}')}`);
    });
    const res = await fetch(`${url}/client/v4/openapi.json`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { paths: Record<string, Record<string, unknown>> };
    const documented = Object.entries(doc.paths).flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`));
    // The docs themselves: the document and the Swagger UI page.
    const docs = ['GET /client/v4/openapi.json', 'GET /docs', 'GET /docs/init.js'];
    expect(registered).toEqual(expect.arrayContaining(docs));
    expect(registered.length).toBeGreaterThan(40);
    expect(documented.sort()).toEqual(registered.filter((route) => !docs.includes(route)).sort());
  });

  it('accepts every token of GATEHOUSE_ADMIN_TOKENS over HTTP and refuses others', async () => {
    const status = (token: string) => fetch(`${url}/client/v4/accounts`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.status);
    // No token service is running: an admitted request waits for it and gets 503, a refused one 403.
    await expect(status(OLD)).resolves.toBe(503);
    await expect(status(NEW)).resolves.toBe(503);
    await expect(status('x'.repeat(40))).resolves.toBe(403);
  });

  it('a start that fails (its management port in use) closes its NATS connection and throws', async () => {
    const busy = net.createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const port = (busy.address() as { port: number }).port;
    const connections = async () => ((await (await fetch(`${nats.monitorUrl}/connz`)).json()) as { num_connections: number }).num_connections;
    const before = await connections();
    try {
      const env = loadEnv({
        NATS_URL: nats.url,
        GATEHOUSE_API_PORT: '0',
        GATEHOUSE_API_MANAGEMENT_PORT: String(port),
        GATEHOUSE_ADMIN_TOKENS: OLD,
        GATEHOUSE_LOG_LEVEL: 'error',
      });
      await expect(startApi(env)).rejects.toThrow(/EADDRINUSE/);
      await expectEventually(async () => expect(await connections()).toBe(before));
    } finally {
      busy.close();
    }
  });
});
