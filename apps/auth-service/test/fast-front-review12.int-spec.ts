import http from 'node:http';
import net from 'node:net';
import { expectEventually } from '@gatehouse/testing';
import { FastFront } from '../src/gateway/fast-front.js';
import { get, startEchoUpstream, startTwins } from './fast-front-harness.js';
import { listen, closeServer, onCleanup, rawConnection, runCleanups } from './proxy-harness.js';

/*
 * Review 12 (commit 576a1c4, shared reads): with shared reads the socket net.Server emits as
 * 'connection' is an empty shell (its handle taken by adopt), so the front server also emits
 * 'socket' with the gateway's side of the connection — what the tests (fast-front-hostile's
 * serverSockets, hostile-requests' gatewaySideClosed) and any watcher measure or act on.
 */

afterEach(runCleanups);

async function front(): Promise<{ port: number; front: FastFront }> {
  const fallback = http.createServer((_req, res) => res.end('slow'));
  const f = new FastFront({
    fallback,
    serve: (req, res) => {
      res.writeHead(200, ['Content-Length', String(6 + req.url.length)]);
      res.end(`fast ${req.url}\n`);
    },
    malformed: (socket) => socket.destroy(),
    keepAliveTimeoutMs: 5_000,
  });
  const port = await listen(f.server);
  fallback.emit('listening');
  onCleanup(async () => {
    f.closeAll();
    fallback.closeAllConnections();
    await closeServer(f.server);
  });
  return { port, front: f };
}

describe('the socket of the front server’s socket event', () => {
  it('is the one the connection is served on (its bytes, its address)', async () => {
    const { port, front: f } = await front();
    const sockets: net.Socket[] = [];
    f.server.prependListener('socket', (socket: net.Socket) => void sockets.push(socket));
    const conn = rawConnection(port, 'GET /x HTTP/1.1\r\nHost: a\r\n\r\n');
    await expectEventually(() => expect(conn.received()).toContain('fast /x'));
    expect(sockets).toHaveLength(1);
    expect(sockets[0]!.remoteAddress).toBe('127.0.0.1');
    expect(sockets[0]!.bytesWritten).toBeGreaterThan(0);
  });

  it('fast-front-hostile’s probe (a client that pipelines without reading) sees what the gateway holds for it', async () => {
    const upstream = await startEchoUpstream();
    const { fast: twin } = await startTwins(upstream.url);
    const sockets: net.Socket[] = [];
    twin.gateway.front.server.prependListener('socket', (socket: net.Socket) => void sockets.push(socket));
    const client = net.connect(twin.port, '127.0.0.1');
    onCleanup(() => void client.destroy());
    client.on('error', () => undefined);
    client.pause();
    await new Promise<void>((resolve) => client.once('connect', resolve));
    client.write(Buffer.from(get('/').repeat(20_000), 'latin1'));
    let most = 0;
    const t0 = Date.now();
    while (Date.now() - t0 < 1_500) {
      await new Promise((r) => setTimeout(r, 50));
      for (const s of sockets) most = Math.max(most, s.writableLength);
    }
    // The client reads nothing: the gateway's side does hold answers (about its high-water mark).
    expect(most).toBeGreaterThan(16 * 1024);
  });
});
