import { createHash } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { expectEventually } from '@gatehouse/testing';
import { FastFront } from '../src/gateway/fast-front.js';
import { get, listenFront, startEchoUpstream, startTwins } from './fast-front-harness.js';
import { closeServer, onCleanup, rawConnection, runCleanups } from './proxy-harness.js';

/*
 * The fast front's shared reads (src/gateway/fast-front.ts, adopt): every client connection reads
 * into one buffer, and a connection keeps only copies. Each case runs with shared reads and with
 * stream reads (`sharedReads: false`, a buffer per read), and must behave the same: no connection
 * ever sees another's bytes, and a connection handed to Node's server is read as Node expects of
 * any socket (its backpressure, and the client's end of input seen after Node is done with it).
 */

afterEach(runCleanups);

async function startFront(sharedReads: boolean, onUpgrade?: (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => void) {
  const fallback = http.createServer((req, res) => {
    const hash = createHash('sha256');
    let length = 0;
    req.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      length += chunk.length;
    });
    req.on('end', () => res.end(`slow ${req.url} ${length} ${hash.digest('hex')}\n`));
  });
  if (onUpgrade) fallback.on('upgrade', onUpgrade);
  const front = new FastFront({
    fallback,
    serve: (req, res) => {
      // Answered later, so that other connections' reads come in between.
      setTimeout(() => {
        res.writeHead(200, ['Content-Length', String(6 + req.url.length)]);
        res.end(`fast ${req.url}\n`);
      }, 1);
    },
    malformed: (socket) => socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n'),
    keepAliveTimeoutMs: 5_000,
    sharedReads,
  });
  const port = await listenFront(front, fallback);
  return { port, front, fallback };
}

const answers = (text: string) => [...text.matchAll(/(fast|slow) (\S+)/g)].map((m) => `${m[1]} ${m[2]}`);

describe.each([true, false])('FastFront reads (shared reads: %s)', (sharedReads) => {
  it('heads cut at every byte, on many connections at once: each connection answers its own requests, in order', async () => {
    const { port } = await startFront(sharedReads);
    const connections = Array.from({ length: 8 }, (_, c) => {
      const heads = Array.from(
        { length: 12 },
        (_, r) => `GET /c${c}/r${r}/${'x'.repeat((c * 37 + r * 11) % 90)} HTTP/1.1\r\nHost: a\r\nX-N: ${c}-${r}\r\n\r\n`,
      );
      const socket = net.connect(port, '127.0.0.1');
      socket.setNoDelay(true);
      onCleanup(() => void socket.destroy());
      let received = '';
      socket.on('data', (d: Buffer) => (received += d.toString('latin1')));
      return { heads, socket, received: () => received };
    });
    await Promise.all(connections.map((c) => new Promise((resolve) => c.socket.once('connect', resolve))));
    // Pieces of 1–9 bytes, written in turn on every connection: a head in progress on one
    // connection is kept while the others' reads reuse the buffer.
    const pieces = connections.map((c, i) => {
      const bytes = c.heads.join('');
      const out: string[] = [];
      for (let at = 0, n = 0; at < bytes.length; n++) {
        const size = 1 + ((at * 7 + i + n) % 9);
        out.push(bytes.slice(at, at + size));
        at += size;
      }
      return out;
    });
    for (let step = 0; pieces.some((p) => step < p.length); step++) {
      for (const [i, c] of connections.entries()) if (step < pieces[i]!.length) c.socket.write(pieces[i]![step]!);
      if (step % 40 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    }
    for (const c of connections) {
      const expected = c.heads.map((h) => `fast ${h.split(' ')[1]}`);
      await expectEventually(() => expect(answers(c.received())).toEqual(expected), { timeoutMs: 5_000 });
    }
  });

  it('pipelined requests in one read, then a body: the rest of that read goes to Node’s server whole', async () => {
    const { port, front } = await startFront(sharedReads);
    const body = Buffer.alloc(40_000, 'b');
    const bytes = Buffer.concat([
      Buffer.from('GET /one HTTP/1.1\r\nHost: a\r\n\r\nGET /two HTTP/1.1\r\nHost: a\r\n\r\n', 'latin1'),
      Buffer.from(`POST /three HTTP/1.1\r\nHost: a\r\nContent-Length: ${body.length}\r\n\r\n`, 'latin1'),
      body,
      Buffer.from('GET /four HTTP/1.1\r\nHost: a\r\n\r\n', 'latin1'),
    ]);
    const conn = rawConnection(port, bytes);
    const digest = createHash('sha256').update(body).digest('hex');
    await expectEventually(() => expect(conn.received()).toContain('slow /four 0'));
    expect(answers(conn.received())).toEqual(['fast /one', 'fast /two', 'slow /three', 'slow /four']);
    expect(conn.received()).toContain(`slow /three ${body.length} ${digest}`);
    expect(front.handedOver).toBe(1);
  });

  it('a large body to a slow reader, on a handed-over connection: every byte arrives, in order', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const answer = async (req: http.IncomingMessage, res: http.ServerResponse) => {
      // Reads nothing for a while: Node's server stops reading the socket, the client's writes back up.
      await held;
      const hash = createHash('sha256');
      let length = 0;
      for await (const chunk of req) {
        hash.update(chunk as Buffer);
        length += (chunk as Buffer).length;
        await new Promise((resolve) => setImmediate(resolve));
      }
      res.end(`slow ${req.url} ${length} ${hash.digest('hex')}`);
    };
    const fallback = http.createServer((req, res) => void answer(req, res));
    const front = new FastFront({ fallback, serve: () => undefined, malformed: (s) => s.destroy(), keepAliveTimeoutMs: 5_000, sharedReads });
    const port = await listenFront(front, fallback);
    const body = Buffer.alloc(8 * 1024 * 1024);
    for (let i = 0; i < body.length; i += 4) body.writeUInt32LE(i, i);
    const socket = net.connect(port, '127.0.0.1');
    onCleanup(() => void socket.destroy());
    let received = '';
    socket.on('data', (d: Buffer) => (received += d.toString('latin1')));
    await new Promise((resolve) => socket.once('connect', resolve));
    let drained = 0;
    socket.write(`PUT /big HTTP/1.1\r\nHost: a\r\nContent-Length: ${body.length}\r\n\r\n`);
    if (!socket.write(body)) socket.once('drain', () => drained++);
    // The client's writes do back up: the gateway side stopped reading.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(socket.writableLength).toBeGreaterThan(0);
    release();
    const digest = createHash('sha256').update(body).digest('hex');
    await expectEventually(() => expect(received).toContain(`slow /big ${body.length} ${digest}`), { timeoutMs: 10_000 });
    expect(drained).toBe(1);
  });

  it('after an upgrade, a stream consumer reads the socket with its own backpressure, and both directions carry every byte', async () => {
    const chunks: Buffer[] = [];
    const { port } = await startFront(sharedReads, (_req, socket, head) => {
      socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n');
      if (head.length) {
        chunks.push(head);
        socket.write(head);
      }
      // A slow consumer: paused for a while after every chunk.
      socket.on('data', (d: Buffer) => {
        chunks.push(d);
        socket.pause();
        setTimeout(() => socket.resume(), 1);
        socket.write(d);
      });
      socket.on('end', () => socket.end());
    });
    const payload = Buffer.alloc(2 * 1024 * 1024);
    for (let i = 0; i < payload.length; i += 4) payload.writeUInt32LE((i * 2654435761) >>> 0, i);
    const socket = net.connect(port, '127.0.0.1');
    onCleanup(() => void socket.destroy());
    const parts: Buffer[] = [];
    socket.on('data', (d: Buffer) => parts.push(d));
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write('GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n');
    socket.end(payload);
    await closed;
    const all = Buffer.concat(parts);
    const at = all.indexOf('\r\n\r\n') + 4;
    expect(all.subarray(0, 12).toString()).toBe('HTTP/1.1 101');
    expect(Buffer.concat(chunks).equals(payload)).toBe(true);
    expect(all.subarray(at).equals(payload)).toBe(true);
  });

  it('a connection Node’s server is done with (ended, paused) still sees the client’s close, and is closed with it', async () => {
    const { port, front, fallback } = await startFront(sharedReads, (_req, socket) => {
      // Refused and ended; not read again: the client's end of input must still close it.
      socket.pause();
      socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    });
    // A client that keeps its side open after the gateway's end, until it ends it itself.
    const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    onCleanup(() => void socket.destroy());
    let received = '';
    socket.on('data', (d: Buffer) => (received += d.toString('latin1')));
    const ended = new Promise<void>((resolve) => socket.once('end', () => resolve()));
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.write('GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n');
    await ended;
    expect(received).toContain('403 Forbidden');
    const count = () => new Promise<number>((resolve, reject) => front.server.getConnections((e, n) => (e ? reject(e) : resolve(n))));
    expect(await count()).toBe(1);
    socket.end();
    await Promise.race([closed, new Promise((_, reject) => setTimeout(() => reject(new Error('the gateway never closed its side')), 5_000))]);
    await expectEventually(async () => expect(await count()).toBe(0));
    // The server closes once its connections are gone, without closeAll.
    fallback.closeAllConnections();
    await closeServer(front.server);
  });

  it('counts its connections while they are open, and none once they have closed', async () => {
    const { port, front } = await startFront(sharedReads);
    const count = () => new Promise<number>((resolve, reject) => front.server.getConnections((e, n) => (e ? reject(e) : resolve(n))));
    const conns = Array.from({ length: 5 }, (_, i) => rawConnection(port, `GET /n${i} HTTP/1.1\r\nHost: a\r\n\r\n`));
    for (const c of conns) await expectEventually(() => expect(c.received()).toContain('fast /n'));
    expect(await count()).toBe(5);
    for (const c of conns) c.socket.destroy();
    await expectEventually(async () => expect(await count()).toBe(0));
  });
});

describe('the front server’s socket event (the connection event gives the adopted shell)', () => {
  it('is the socket the connection is served on (its bytes, its address)', async () => {
    const { port, front } = await startFront(true);
    const sockets: net.Socket[] = [];
    front.server.prependListener('socket', (socket: net.Socket) => void sockets.push(socket));
    const conn = rawConnection(port, 'GET /x HTTP/1.1\r\nHost: a\r\n\r\n');
    await expectEventually(() => expect(conn.received()).toContain('fast /x'));
    expect(sockets).toHaveLength(1);
    expect(sockets[0]!.remoteAddress).toBe('127.0.0.1');
    expect(sockets[0]!.bytesWritten).toBeGreaterThan(0);
  });

  it('shows what the gateway holds for a client that pipelines without reading (fast-front-hostile’s probe)', async () => {
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

describe('held writes (write-batch) and a client that does not read', () => {
  it('many pipelined requests answered in one pass: what the gateway holds for the client stays near its high-water mark', async () => {
    const fallback = http.createServer((_req, res) => res.end('slow'));
    const answer = Buffer.alloc(1_000, 'a');
    const front = new FastFront({
      fallback,
      // Answered at once (as a refusal or a cached answer can be): one read's requests in one pass.
      serve: (_req, res) => {
        res.writeHead(200, ['Content-Length', String(answer.length)]);
        res.end(answer);
      },
      malformed: (socket) => socket.destroy(),
      keepAliveTimeoutMs: 5_000,
    });
    const port = await listenFront(front, fallback);
    const sockets: net.Socket[] = [];
    front.server.on('socket', (socket: net.Socket) => void sockets.push(socket));
    const client = net.connect(port, '127.0.0.1');
    onCleanup(() => void client.destroy());
    client.on('error', () => undefined);
    client.pause();
    await new Promise<void>((resolve) => client.once('connect', resolve));
    // ~2,200 requests per 64 KiB read; 1 KB answers: 2 MB if one read's answers were all held.
    client.write(Buffer.from('GET / HTTP/1.1\r\nHost: a\r\n\r\n'.repeat(20_000), 'latin1'));
    let most = 0;
    const t0 = Date.now();
    while (Date.now() - t0 < 1_000) {
      await new Promise((resolve) => setImmediate(resolve));
      for (const s of sockets) most = Math.max(most, s.writableLength);
    }
    expect(most).toBeGreaterThan(16 * 1024);
    expect(most).toBeLessThan(4 * sockets[0]!.writableHighWaterMark);
  });
});
