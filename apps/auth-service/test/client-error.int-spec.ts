import { ServerResponse } from 'node:http';
import { expectEventually } from '@gatehouse/testing';
import { HOST, startEchoUpstream, startTwins, type Twin } from './fast-front-harness.js';
import { rawConnection, runCleanups } from './proxy-harness.js';

/**
 * A malformed request pipelined behind one still being answered: Node's server reports the same
 * parse error again for every later read of that connection. The gateway refuses it once, after
 * the answers before it, however many more bytes the client sends meanwhile.
 */
afterAll(runCleanups);

let slow: Twin;
let creds: string;

beforeAll(async () => {
  const upstream = await startEchoUpstream();
  const twins = await startTwins(upstream.url);
  slow = twins.slow;
  creds = `CF-Access-Client-Id: ${twins.id}\r\nCF-Access-Client-Secret: ${twins.secret}\r\n`;
});

it('holds nothing per read after the parse error while an earlier answer is pending', async () => {
  // Counts the 'close' listeners added to the pending answer (Node's own and the proxy's are a few).
  let added = 0;
  const once = ServerResponse.prototype.once;
  const patched = function (this: ServerResponse, event: string | symbol, listener: (...args: unknown[]) => void) {
    if (event === 'close' && this.req?.url === '/slow') added++;
    return once.call(this, event, listener);
  };
  ServerResponse.prototype.once = patched as typeof once;

  try {
    // `/slow` is never answered by the upstream: its answer stays pending for the whole test.
    const c = rawConnection(slow.port, `GET /slow HTTP/1.1\r\nHost: ${HOST}\r\n${creds}\r\nGET / HTTP/1.1\r\nHost ${HOST}\r\n\r\n`);
    c.socket.setNoDelay(true);
    await expectEventually(() => expect(added).toBeGreaterThan(0));
    const before = added;
    for (let i = 0; i < 40; i++) {
      c.socket.write('x');
      await new Promise((r) => setTimeout(r, 5)); // a read of its own each
    }
    await new Promise((r) => setTimeout(r, 50));
    // Before: a 'close' listener (and a refusal) queued on the pending answer per read.
    expect(added - before).toBe(0);
    c.socket.destroy();
  } finally {
    ServerResponse.prototype.once = once;
  }
});
