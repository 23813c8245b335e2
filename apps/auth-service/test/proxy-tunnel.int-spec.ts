import { expectEventually } from '@gatehouse/testing';
import { JWT, RawUpstream, closedPort, newPool, rawClient, rawConnection, runCleanups, startTunnelFront } from './proxy-harness.js';

/*
 * UpstreamPool.tunnel (src/gateway/proxy.ts): upgrade requests (WebSocket).
 * Shared fixtures: ./proxy-harness.ts.
 */

afterEach(runCleanups);

describe('UpstreamPool: upgrade tunnels', () => {
  const upgradeRequest = 'GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nCf-Access-Client-Secret: s\r\n\r\n';

  it('sends Connection: Upgrade and the Upgrade header, asserts the JWT, strips credentials', async () => {
    const up = await RawUpstream.start((r) => void r.socket.end('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\nbye'));
    const pool = newPool();
    const front = await startTunnelFront(pool, up.url);
    const text = await rawClient(front, upgradeRequest);
    expect(text).toBe('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\nbye');
    const headers = Object.fromEntries(up.requests[0]!.headers);
    expect(headers).toMatchObject({ connection: 'Upgrade', upgrade: 'websocket', 'cf-access-jwt-assertion': JWT });
    expect(headers['cf-access-client-secret']).toBeUndefined();
  });

  it('answers 502 for an unreachable upstream or a malformed answer, 504 for none', async () => {
    const pool = newPool({ responseTimeoutMs: 100 });
    expect(await rawClient(await startTunnelFront(pool, `http://127.0.0.1:${await closedPort()}`), upgradeRequest)).toMatch(/^HTTP\/1\.1 502 X\r\n[\s\S]*"upstream_unreachable"/);
    const bad = await RawUpstream.start((r) => void r.socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade : websocket\r\n\r\n'));
    expect(await rawClient(await startTunnelFront(pool, bad.url), upgradeRequest)).toMatch(/^HTTP\/1\.1 502 X\r\n[\s\S]*"upstream_protocol_error"/);
    const silent = await RawUpstream.start(() => undefined);
    expect(await rawClient(await startTunnelFront(pool, silent.url), upgradeRequest)).toMatch(/^HTTP\/1\.1 504 X\r\n[\s\S]*"upstream_timeout"/);
  });

  it('closes open tunnels with the pool', async () => {
    const up = await RawUpstream.start((r) => void r.socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n'));
    const pool = newPool();
    const front = await startTunnelFront(pool, up.url);
    const client = rawConnection(front, upgradeRequest);
    await expectEventually(() => expect(client.received()).toMatch(/^HTTP\/1\.1 101 /));
    pool.close();
    expect(await client.closed).toMatch(/^HTTP\/1\.1 101 /);
    await expectEventually(() => expect(up.conns[0]!.closed).toBe(true));
  });
});
