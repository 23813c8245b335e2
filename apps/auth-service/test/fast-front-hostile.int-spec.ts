import net from 'node:net';
import { expectEventually } from '@gatehouse/testing';
import { countResponses, get, startEchoUpstream, startTwins } from './fast-front-harness.js';
import { onCleanup, runCleanups } from './proxy-harness.js';

/*
 * The fast front (src/gateway/fast-front.ts) attacked as an outsider would: each property is
 * checked on the gateway with the fast front and on the same gateway without it (Node's server,
 * the proven path), so a test that Node's server fails too is a bad test, not a finding.
 */

afterEach(runCleanups);

const unknownHost = get('/', '', 'nobody.example.com');

describe('resource exhaustion', () => {
  it.each([true, false])(
    'thousands of pipelined requests answered at once (no await on their path): every one answered (fast front: %s)',
    async (fastFront) => {
      const upstream = await startEchoUpstream();
      const twins = await startTwins(upstream.url);
      const twin = fastFront ? twins.fast : twins.slow;
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
