import { expectEventually } from '@gatehouse/testing';
import { JWT, RawUpstream, closedPort, newPool, ok, rawClient, rawConnection, rawReply, runCleanups, startTunnelFront, valuesOf } from './proxy-harness.js';

/*
 * UpstreamPool.tunnel (src/gateway/proxy.ts): upgrade requests (WebSocket).
 * Shared fixtures: ./proxy-harness.ts.
 */

afterEach(runCleanups);

const upgradeRequest = 'GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nCf-Access-Client-Secret: s\r\n\r\n';

describe('UpstreamPool: upgrade tunnels', () => {
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
    // The refused connection and the malformed answer with the default (2 s) response timeout: on
    // a loaded machine a 100 ms timer can fire in the same loop turn as the refusal, and first.
    const pool = newPool();
    expect(await rawClient(await startTunnelFront(pool, `http://127.0.0.1:${await closedPort()}`), upgradeRequest)).toMatch(
      /^HTTP\/1\.1 502 X\r\n[\s\S]*"upstream_unreachable"/,
    );
    const bad = await RawUpstream.start((r) => void r.socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade : websocket\r\n\r\n'));
    expect(await rawClient(await startTunnelFront(pool, bad.url), upgradeRequest)).toMatch(/^HTTP\/1\.1 502 X\r\n[\s\S]*"upstream_protocol_error"/);
    const silent = await RawUpstream.start(() => undefined);
    const impatient = newPool({ responseTimeoutMs: 100 });
    expect(await rawClient(await startTunnelFront(impatient, silent.url), upgradeRequest)).toMatch(/^HTTP\/1\.1 504 X\r\n[\s\S]*"upstream_timeout"/);
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

describe('UpstreamPool: what is tunnelled, and when', () => {
  const switched = 'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n';
  const upgradeWith = (headers: string) => `GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n${headers}\r\n`;

  it('holds what the client sends after the request head until the 101, then relays it', async () => {
    let beforeAnswer = '';
    const up = await RawUpstream.start((r) => {
      beforeAnswer = up.received();
      r.socket.write(switched);
      r.socket.on('data', (d: Buffer) => r.socket.write(`echo:${d.toString('latin1')}`));
    });
    const front = await startTunnelFront(newPool(), up.url);
    const client = rawConnection(front, `${upgradeRequest}early frame`);
    await expectEventually(() => expect(client.received()).toBe(`${switched}echo:early frame`));
    expect(beforeAnswer).toBe(up.requests[0]!.head + '\r\n\r\n');
    expect(up.received()).toBe(`${beforeAnswer}early frame`);
  });

  it('never sends those bytes when the upstream refuses the upgrade; relays the refusal without hop-by-hop headers, then closes', async () => {
    const up = await RawUpstream.start(
      (r) => void r.socket.write('HTTP/1.1 403 Forbidden\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nContent-Length: 4\r\n\r\nnope'),
    );
    const front = await startTunnelFront(newPool(), up.url, { setCookie: 'CF_Authorization=tok' });
    const text = await rawConnection(front, `${upgradeRequest}GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n`).closed;
    expect(text).toBe('HTTP/1.1 403 Forbidden\r\nContent-Length: 4\r\nSet-Cookie: CF_Authorization=tok\r\nConnection: close\r\n\r\nnope');
    await expectEventually(() => expect(up.conns[0]!.closed).toBe(true));
    expect(up.requests).toHaveLength(1);
    expect(up.received()).toBe(up.requests[0]!.head + '\r\n\r\n');
  });

  it('a 101 to another protocol than WebSocket is a 502, never joined', async () => {
    const up = await RawUpstream.start(
      (r) => void r.socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\nraw h2 bytes'),
    );
    const front = await startTunnelFront(newPool(), up.url);
    const text = await rawConnection(front, `${upgradeRequest}early`).closed;
    expect(text).toMatch(/^HTTP\/1\.1 502 X\r\n[\s\S]*"upstream_protocol_error"/);
    expect(text).not.toContain('raw h2 bytes');
    expect(up.received()).not.toContain('early');
  });

  it.each([
    ['h2c', 'Connection: HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n'],
    ['a list naming websocket among others', 'Upgrade: websocket, h2c\r\n'],
    ['TLS/1.2', 'Upgrade: TLS/1.2\r\n'],
  ])('Upgrade: %s is forwarded as a plain request without Upgrade; a 101 from the upstream is a 502', async (_name, headers) => {
    const up = await RawUpstream.start(
      (r) => void r.socket.write(r.conn === 1 ? 'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n' : ok('plain answer')),
    );
    const pool = newPool();
    const front = await startTunnelFront(pool, up.url);
    const refused = await rawConnection(front, upgradeWith(headers) + 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n').closed;
    expect(refused).toMatch(/^HTTP\/1\.1 502 /);
    expect(refused).toContain('"upstream_protocol_error"');
    const plain = await rawConnection(front, upgradeWith(headers)).closed;
    expect(plain).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\nConnection: close\r\n[\s\S]*plain answer$/);
    for (const r of up.requests) {
      const names = r.headers.map(([k]) => k);
      expect(names).not.toContain('upgrade');
      expect(names).not.toContain('connection');
      expect(names).not.toContain('http2-settings');
      expect(valuesOf(r, 'cf-access-jwt-assertion')).toEqual([JWT]);
    }
    expect(up.received(1)).not.toContain('PRI *');
  });

  it('an upgrade request with a body: 400, nothing reaches the upstream', async () => {
    const up = await RawUpstream.start((r) => void r.socket.write(switched));
    const front = await startTunnelFront(newPool(), up.url);
    const ws = await rawConnection(front, upgradeWith('Upgrade: websocket\r\nContent-Length: 5\r\n') + 'hello').closed;
    expect(rawReply(ws)).toEqual({ status: 400, body: { error: 'bad_request', reason: 'upgrade_with_body' } });
    const h2c = await rawConnection(front, upgradeWith('Upgrade: h2c\r\nContent-Length: 5\r\n') + 'hello').closed;
    expect(rawReply(h2c)).toEqual({ status: 400, body: { error: 'bad_request', reason: 'upgrade_with_body' } });
    expect(up.conns).toHaveLength(0);
  });

  it('answers 503 tunnel_limit beyond maxTunnels open tunnels, and admits again once one closes', async () => {
    const up = await RawUpstream.start((r) => void r.socket.write(switched));
    const pool = newPool({ maxTunnels: 1 });
    const front = await startTunnelFront(pool, up.url);
    const first = rawConnection(front, upgradeRequest);
    await expectEventually(() => expect(first.received()).toBe(switched));
    expect(pool.tunnelCount()).toBe(1);
    const second = await rawConnection(front, upgradeRequest).closed;
    expect(rawReply(second)).toEqual({ status: 503, body: { error: 'unavailable', reason: 'tunnel_limit' } });
    first.socket.destroy();
    await expectEventually(() => expect(pool.tunnelCount()).toBe(0));
    const third = rawConnection(front, upgradeRequest);
    await expectEventually(() => expect(third.received()).toBe(switched));
    expect(up.requests).toHaveLength(2);
  });
});
