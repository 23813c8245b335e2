import http from 'node:http';
import net from 'node:net';
import { FastFront, type FastResponse } from '../src/gateway/fast-front.js';
import { listenFront } from './fast-front-harness.js';
import { onCleanup, runCleanups } from './proxy-harness.js';

/*
 * Held writes (src/gateway/write-batch.ts) against a connection the gateway closes itself in the
 * same pass (its close() at shutdown, or a response cut by the proxy): what was answered before
 * the close goes out before it, as it did when every write was made at once. (Found by review
 * 12b; both cases fail without FastFront.closeAll's and FastResponse.destroy's release.)
 */

afterEach(runCleanups);

async function front(serve: (res: FastResponse, front: FastFront) => void) {
  const fallback = http.createServer((_req, res) => res.end('slow'));
  const f: FastFront = new FastFront({
    fallback,
    serve: (_req, res) => serve(res, f),
    malformed: (socket) => socket.destroy(),
    keepAliveTimeoutMs: 5_000,
  });
  return { front: f, port: await listenFront(f, fallback) };
}

/** Sends `bytes` and collects everything until the connection closes. */
function collect(port: number, bytes: string): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    const c = net.connect(port, '127.0.0.1', () => c.write(bytes));
    onCleanup(() => void c.destroy());
    c.on('data', (d: Buffer) => (text += d.toString('latin1')));
    c.on('error', () => undefined);
    c.on('close', () => resolve(text));
  });
}

describe('held writes and a close by the gateway in the same pass', () => {
  it('closeAll() (Gateway.close at shutdown) right after an answer: the answer still reaches the client', async () => {
    const { port } = await front((res, f) => {
      res.writeHead(200, ['Content-Length', '2']);
      res.end('ok');
      // The shutdown (SIGTERM's handler, Gateway.close) runs in the same pass.
      queueMicrotask(() => f.closeAll());
    });
    expect(await collect(port, 'GET / HTTP/1.1\r\nHost: a\r\n\r\n')).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\nok$/);
  });

  it('a pipelined answer cut (res.destroy, as the proxy cuts a response whose upstream failed) right after the one before it: that one still arrives whole', async () => {
    let n = 0;
    const { port } = await front((res) => {
      if (n++ === 0) {
        res.writeHead(200, ['Content-Length', '5']);
        return void res.end('first');
      }
      res.writeHead(200, ['Content-Length', '100']);
      res.write(Buffer.from('partial'));
      res.destroy();
    });
    const text = await collect(port, 'GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n');
    expect(text).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*?\r\n\r\nfirst/);
  });
});
