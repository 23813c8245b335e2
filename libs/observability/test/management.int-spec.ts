import { Counter } from 'prom-client';
import { createServiceRegistry, startManagementServer, type ManagementServer } from '../src/index.js';

describe('management server (real sockets)', () => {
  const registry = createServiceRegistry('int-test');
  const hits = new Counter({ name: 'int_test_hits_total', help: 'hits', labelNames: ['kind'], registers: [registry] });
  let nats = true;
  let server: ManagementServer;

  beforeAll(async () => {
    server = await startManagementServer({
      host: '127.0.0.1',
      port: 0,
      registry,
      checkTimeoutMs: 200,
      readiness: {
        database: () => undefined,
        nats: () => {
          if (!nats) throw new Error('not connected');
        },
        slow: () => new Promise<void>((resolve) => setTimeout(resolve, nats ? 0 : 1000)),
      },
    });
  });
  afterAll(() => server.close());

  const get = async (path: string, init?: RequestInit) => {
    const res = await fetch(`${server.url}${path}`, init);
    return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
  };

  it('serves Prometheus text with process metrics and the service label; counters move', async () => {
    hits.inc({ kind: 'a' });
    const first = await get('/metrics');
    expect(first.status).toBe(200);
    expect(first.type).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(first.text).toMatch(/^process_cpu_user_seconds_total\{service="int-test"\} /m);
    expect(first.text).toMatch(/^nodejs_eventloop_lag_seconds\{service="int-test"\} /m);
    expect(first.text).toContain('int_test_hits_total{kind="a",service="int-test"} 1');
    hits.inc({ kind: 'a' });
    expect((await get('/metrics')).text).toContain('int_test_hits_total{kind="a",service="int-test"} 2');
  });

  it('answers /healthz while alive and /readyz by its checks (503 naming what failed, a hung check times out)', async () => {
    await expect(get('/healthz')).resolves.toMatchObject({ status: 200, text: '{"status":"alive"}' });
    const ready = await get('/readyz');
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.text)).toEqual({ status: 'ready', checks: { database: 'up', nats: 'up', slow: 'up' } });
    nats = false;
    try {
      const down = await get('/readyz');
      expect(down.status).toBe(503);
      expect(JSON.parse(down.text)).toEqual({
        status: 'not ready',
        checks: { database: 'up', nats: 'down: not connected', slow: 'down: no answer within 200 ms' },
      });
      await expect(get('/healthz')).resolves.toMatchObject({ status: 200 });
    } finally {
      nats = true;
    }
  });

  it('answers 404 for other paths and 405 for other methods', async () => {
    await expect(get('/')).resolves.toMatchObject({ status: 404 });
    await expect(get('/metrics/x')).resolves.toMatchObject({ status: 404 });
    await expect(get('/metrics', { method: 'POST' })).resolves.toMatchObject({ status: 405 });
  });

  it('fails to start in words when the port is taken', async () => {
    await expect(startManagementServer({ host: '127.0.0.1', port: server.port, registry })).rejects.toThrow(/EADDRINUSE/);
  });
});
