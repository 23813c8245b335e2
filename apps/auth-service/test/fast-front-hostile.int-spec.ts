import net from 'node:net';
import { expectEventually } from '@gatehouse/testing';
import { countResponses, get, startEchoUpstream, startTwins, type Twin } from './fast-front-harness.js';
import { onCleanup, runCleanups } from './proxy-harness.js';

/*
 * The fast front (src/gateway/fast-front.ts) attacked as an outsider would: each property is
 * checked on the gateway with the fast front and on the same gateway without it (Node's server,
 * the proven path), so a test that Node's server fails too is a bad test, not a finding.
 */

afterEach(runCleanups);

/** The gateway's side of every connection `twin` accepts (to look at what it holds for the client). */
function serverSockets(twin: Twin): net.Socket[] {
  const sockets: net.Socket[] = [];
  // 'socket', not 'connection': with shared reads the accepted socket is a shell (FastFront).
  twin.gateway.front.server.prependListener('socket', (socket: net.Socket) => void sockets.push(socket));
  return sockets;
}

const unknownHost = get('/', '', 'nobody.example.com');

/** A gateway with the fast front (or without: Node's server) in front of an echo upstream. */
async function twinOf(fastFront: boolean): Promise<Twin> {
  const upstream = await startEchoUpstream();
  const twins = await startTwins(upstream.url);
  return fastFront ? twins.fast : twins.slow;
}

describe('resource exhaustion', () => {
  it.each([true, false])(
    'a client that pipelines without reading answers: what the gateway buffers for it stays bounded (fast front: %s)',
    async (fastFront) => {
      const twin = await twinOf(fastFront);
      const sockets = serverSockets(twin);
      // 100k requests (4 MB) whose answers (401: no credentials needed) are 10 times larger.
      const flood = Buffer.from(get('/').repeat(100_000), 'latin1');
      const client = net.connect(twin.port, '127.0.0.1');
      onCleanup(() => void client.destroy());
      client.on('error', () => undefined);
      client.pause(); // never reads
      await new Promise<void>((resolve) => client.once('connect', resolve));
      client.write(flood);
      let most = 0;
      const t0 = Date.now();
      while (Date.now() - t0 < 3_000) {
        await new Promise((r) => setTimeout(r, 50));
        for (const s of sockets) most = Math.max(most, s.writableLength);
      }
      expect(sockets).toHaveLength(1);
      // Node's server stops reading once its answers back up (its writable high-water mark).
      expect(most).toBeLessThan(1024 * 1024);
      // Once the client reads, every request is answered.
      let answered = 0;
      let tail = '';
      client.on('data', (d: Buffer) => {
        const text = tail + d.toString('latin1');
        answered += text.split('HTTP/1.1 401 ').length - 1;
        tail = text.slice(-12);
      });
      client.resume();
      await expectEventually(() => expect(answered).toBe(100_000), { timeoutMs: 20_000 });
    },
    40_000,
  );

  it.each([true, false])(
    'thousands of pipelined requests answered at once (no await on their path): every one answered (fast front: %s)',
    async (fastFront) => {
      const twin = await twinOf(fastFront);
      const n = 5_000;
      const client = net.connect(twin.port, '127.0.0.1', () => client.write(unknownHost.repeat(n)));
      onCleanup(() => void client.destroy());
      client.on('error', () => undefined);
      const parts: Buffer[] = [];
      client.on('data', (d: Buffer) => parts.push(d));
      await expectEventually(() => expect(countResponses(Buffer.concat(parts).toString('latin1'))).toBe(n), { timeoutMs: 10_000 });
      expect(client.destroyed).toBe(false);
    },
    20_000,
  );
});
