import { generateKeyPairSync } from 'node:crypto';
import type http from 'node:http';
import { generateClientSecret, hashClientSecret } from '@gatehouse/contracts';
import { expectEventually } from '@gatehouse/testing';
import fc from 'fast-check';
import { AccessControl } from '../src/gateway/access.js';
import { JwtService } from '../src/gateway/jwt.js';
import { RateLimiter } from '../src/gateway/rate-limiter.js';
import { Recorder } from '../src/gateway/recorder.js';
import { Gateway } from '../src/gateway/server.js';
import type { KeyRing } from '../src/keys/key-ring.js';
import { appOf, loadInto, policyOf, tokenOf } from '../src/replica/replica.fixture.js';
import { Replica } from '../src/replica/replica.js';
import { onCleanup, rawConnection, request, runCleanups, startRecordingUpstream, valuesOf, type ParsedRequest } from './proxy-harness.js';

/*
 * Differential fuzzing of the gateway's upstream side: generated client requests, malformed ones
 * included and several pipelined on one connection, go through the real Gateway (its fast front
 * and Node's server in front, the UpstreamPool behind) to an upstream that parses with Node's own llhttp and records
 * every request it parsed. The upstream must see exactly the requests the gateway admitted, in
 * order, each with the body the gateway parsed, and nothing else (no smuggled request, no parse
 * error); a request on another connection afterwards arrives intact with its own JWT.
 * All requests share one upstream connection (maxConnectionsPerOrigin: 1), so that anything left
 * over by one request would be read as the start of the next.
 * `FUZZ_RUNS` sets the number of runs (npm run fuzz); the default is a short run for npm test.
 */

afterEach(runCleanups);

const HASH_KEY = 'f'.repeat(64);
const HOST = 'app.example.com';
const SMUGGLED = 'GET /smuggled HTTP/1.1\r\nHost: admin.internal\r\n\r\n';

async function startGateway(upstreamUrl: string) {
  const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keys = {
    signingKey: () => ({ kid: 'kid1', activatesAt: 0, privateKey: pair.privateKey, publicKey: pair.publicKey, certificatePem: '' }),
    publicKey: (kid: string) => (kid === 'kid1' ? pair.publicKey : undefined),
  } as unknown as KeyRing;
  const replica = new Replica();
  const secret = generateClientSecret();
  const token = tokenOf({ secretHash: hashClientSecret(HASH_KEY, secret) });
  const app = appOf({ domain: HOST, upstream: upstreamUrl });
  loadInto(replica, { revision: 1, tokens: [token], apps: [app], policies: [policyOf(app.id, { include: [{ serviceToken: { tokenId: token.id } }] })] });
  const unlimited = () => new RateLimiter(1_000_000_000, 1_000_000_000);
  const gateway = new Gateway({
    replica,
    access: new AccessControl(replica, new JwtService(keys, 'https://team.example.com'), HASH_KEY, (kid) => kid === 'kid1'),
    limiter: unlimited(),
    ipLimiter: unlimited(),
    recorder: new Recorder({ publishSeen: () => undefined, publishDecisions: async () => undefined }),
    certs: () => '{}',
    health: () => ({ status: 'ok' }),
    trustProxy: false,
    cookieSecure: false,
    upstreams: { maxConnectionsPerOrigin: 1, queueTimeoutMs: 10_000, responseTimeoutMs: 10_000 },
  });
  const port = await gateway.listen(0, '127.0.0.1');
  // Closed after the test even when an assertion failed (the upstream is closed by its own cleanup).
  onCleanup(() => gateway.close());
  // What the gateway admitted: every request it hands to the upstream side, as Node parsed it.
  // The body is taken where Node's parser pushes it into the request stream (from the 'request'
  // event on, before authentication), so that recording it neither reads the stream nor changes
  // when the gateway reads it.
  const bodies = new WeakMap<http.IncomingMessage, { text: string }>();
  gateway.server.prependListener('request', (req: http.IncomingMessage) => {
    const body = { text: '' };
    bodies.set(req, body);
    const push = req.push.bind(req);
    req.push = (chunk: unknown, encoding?: BufferEncoding) => {
      if (Buffer.isBuffer(chunk)) body.text += chunk.toString('latin1');
      return push(chunk, encoding);
    };
  });
  const admitted: Array<{ seen: ParsedRequest; req: http.IncomingMessage }> = [];
  const forward = gateway.upstreams.forward.bind(gateway.upstreams);
  gateway.upstreams.forward = (req: http.IncomingMessage, res: http.ServerResponse, target) => {
    admitted.push({ seen: { method: req.method!, url: req.url!, headers: [], body: '', complete: false }, req });
    forward(req, res, target);
  };
  return { port, admitted, bodies, creds: { id: token.clientId, secret } };
}

// ---------------------------------------------------------------------------------------------
// Generated requests.

const mostly = <T>(usual: fc.Arbitrary<T>, ...others: T[]) => fc.oneof({ weight: 5, arbitrary: usual }, fc.constantFrom(...others));

const framings = [
  'none',
  'length',
  'chunked',
  'lengthShort',
  'lengthLong',
  'lengthTwice',
  'lengthConflict',
  'lengthAndChunked',
  'chunkedBadSize',
  'chunkedExtras',
  'otherCoding',
  'codingTwice',
] as const;
type Framing = (typeof framings)[number];

const requestArb = fc.record({
  method: mostly(fc.constantFrom('GET', 'POST', 'PUT'), 'HEAD', 'DELETE', 'OPTIONS', 'PATCH'),
  version: mostly(fc.constant('HTTP/1.1'), 'HTTP/1.0'),
  host: mostly(fc.constant('one' as const), 'none', 'two'),
  creds: mostly(fc.constant('valid' as const), 'missing', 'wrong'),
  framing: mostly(fc.constantFrom<Framing>('none', 'length', 'chunked'), ...framings),
  body: fc.string({ unit: fc.constantFrom('a', 'Z', '0', '\r\n', ' ', SMUGGLED), maxLength: 6 }),
  connection: fc.subarray([
    'keep-alive',
    'close',
    'Content-Length',
    'Transfer-Encoding',
    'host',
    'Cf-Access-Jwt-Assertion',
    'X-Forwarded-For',
    'x-drop-me',
    'upgrade',
  ]),
  extra: fc.subarray(
    [
      'Expect: 100-continue',
      'Upgrade: h2c',
      'X-Drop-Me: 1',
      'X-Forwarded-Host: evil.internal',
      'Transfer-Encoding: identity',
      'X-Folded: a\r\n b',
      'X-Bare: a\nX-Next: b',
      'X-Nul: a\0b',
    ],
    { maxLength: 2 },
  ),
});
type GenRequest = typeof requestArb extends fc.Arbitrary<infer T> ? T : never;

function chunk(text: string): string {
  return text ? `${text.length.toString(16)}\r\n${text}\r\n` : '';
}

function serialize(r: GenRequest, path: string, creds: { id: string; secret: string }): string {
  const lines = [`${r.method} ${path} ${r.version}`];
  if (r.host !== 'none') lines.push(`Host: ${HOST}`);
  if (r.host === 'two') lines.push('Host: admin.internal');
  if (r.creds !== 'missing')
    lines.push(`Cf-Access-Client-Id: ${creds.id}`, `Cf-Access-Client-Secret: ${r.creds === 'valid' ? creds.secret : generateClientSecret()}`);
  if (r.connection.length) lines.push(`Connection: ${r.connection.join(', ')}`);
  lines.push(...r.extra);
  const length = Buffer.byteLength(r.body, 'latin1');
  let body = r.body;
  const chunked = () => chunk(r.body) + '0\r\n\r\n';
  switch (r.framing) {
    case 'none':
      body = '';
      break;
    case 'length':
      lines.push(`Content-Length: ${length}`);
      break;
    case 'lengthShort':
      lines.push(`Content-Length: ${Math.max(0, length - 2)}`);
      break;
    case 'lengthLong':
      lines.push(`Content-Length: ${length + 3}`);
      break;
    case 'lengthTwice':
      lines.push(`Content-Length: ${length}`, `Content-Length: ${length}`);
      break;
    case 'lengthConflict':
      lines.push(`Content-Length: ${length}`, `Content-Length: ${length + 1}`);
      break;
    case 'lengthAndChunked':
      lines.push(`Content-Length: ${length}`, 'Transfer-Encoding: chunked');
      body = chunked();
      break;
    case 'chunked':
      lines.push('Transfer-Encoding: chunked');
      body = chunked();
      break;
    case 'chunkedBadSize':
      lines.push('Transfer-Encoding: chunked');
      body = `${(length + 1).toString(16)}\r\n${r.body}\r\n0\r\n\r\n`;
      break;
    case 'chunkedExtras':
      lines.push('Transfer-Encoding: Chunked');
      body = `${length.toString(16)};ext=1\r\n${r.body}\r\n0\r\nX-Trailer: t\r\n\r\n`;
      if (!length) body = '0\r\nX-Trailer: t\r\n\r\n';
      break;
    case 'otherCoding':
      lines.push('Transfer-Encoding: gzip, chunked');
      body = chunked();
      break;
    case 'codingTwice':
      lines.push('Transfer-Encoding: chunked', 'Transfer-Encoding: chunked');
      body = chunked();
      break;
  }
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}

/** Across calls, how long (ms) the value passed has stayed what it is now. */
function heldFor(): (value: number | string) => number {
  let last: number | string | undefined;
  let since = 0;
  return (value) => {
    if (value !== last) [last, since] = [value, Date.now()];
    return Date.now() - since;
  };
}

const shape = (r: ParsedRequest) => ({ method: r.method, url: r.url, body: r.body, complete: r.complete });

describe('the gateway against llhttp upstream (differential, property-based)', () => {
  it(
    'the upstream parses exactly the requests the gateway admitted, in order, and nothing else',
    async () => {
      const upstream = await startRecordingUpstream();
      const gateway = await startGateway(upstream.url);
      let run = 0;
      let admittedComplete = 0;
      const runs = Number(process.env.FUZZ_RUNS) || 60;
      await fc.assert(
        fc.asyncProperty(fc.array(requestArb, { minLength: 1, maxLength: 3 }), async (requests) => {
          run++;
          const firstAdmitted = gateway.admitted.length;
          const firstParsed = upstream.requests.length;
          const bytes = requests.map((r, i) => serialize(r, `/r${run}-${i}`, gateway.creds)).join('');
          const client = rawConnection(gateway.port, bytes);
          let closed = false;
          void client.closed.then(() => (closed = true));
          // Settled: the gateway closed the connection, or answered every request it admitted. A
          // request still waiting for its body never settles; the client then gives up on it, after
          // a second (with 300 ms the test failed twice on a loaded 2-core machine; suspected: an
          // admitted request still on its way upstream then arrives after the next client's).
          // Answered every request admitted so far is not settled while a request read after them is
          // still in its admission (the first exchange signs a JWT, asynchronously): the count of
          // admitted requests must also have held for 50 ms.
          const admittedHeld = heldFor();
          await expectEventually(
            () => {
              const answered = client.received().match(/HTTP\/1\.1 [2-5]\d\d /g)?.length ?? 0;
              const admitted = gateway.admitted.length - firstAdmitted;
              const held = admittedHeld(admitted);
              expect(closed || (admitted > 0 && answered >= admitted && held >= 50)).toBe(true);
            },
            { timeoutMs: 1_000, intervalMs: 5 },
          ).catch(() => undefined);
          client.socket.destroy();
          // Another client, after: on the same upstream connection if it survived. It must arrive as
          // sent, with its own JWT, and be answered by the upstream's answer to it.
          const after = await request(gateway.port, {
            path: `/after-${run}`,
            headers: { host: HOST, 'cf-access-client-id': gateway.creds.id, 'cf-access-client-secret': gateway.creds.secret },
          });
          expect(after.status).toBe(200);
          // The request after is found by its path, at the gateway and upstream: not always the
          // last. A pipelined request of the client's can still be in its admission (the first
          // exchange signs a JWT, which is asynchronous) when the settle check above passes, and be
          // admitted, and sent upstream, after it (CI, 2026-12-02, seed 265577132). So this run
          // also settles before it is checked: nothing admitted or parsed for 100 ms, or a late
          // request would land in the next run's share.
          const countsHeld = heldFor();
          await expectEventually(
            () => {
              expect(countsHeld(`${gateway.admitted.length}/${upstream.requests.length}`)).toBeGreaterThanOrEqual(100);
            },
            { timeoutMs: 3_000, intervalMs: 10 },
          );
          const admitted = gateway.admitted
            .slice(firstAdmitted)
            .map(({ seen, req }) => ({ ...seen, body: gateway.bodies.get(req)?.text ?? '', complete: req.complete }));
          const parsed = upstream.requests.slice(firstParsed);
          const afterUp = parsed.findIndex((p) => p.url === `/after-${run}`);
          expect(afterUp).toBeGreaterThanOrEqual(0);
          const [last] = parsed.splice(afterUp, 1);
          expect(after.body.toString()).toBe(`seen #${firstParsed + afterUp + 1} /after-${run}`);
          expect(shape(last!)).toEqual({ method: 'GET', url: `/after-${run}`, body: '', complete: true });
          expect(valuesOf(last!, 'cf-access-jwt-assertion')).toHaveLength(1);
          const afterAt = admitted.findIndex((a) => a.url === `/after-${run}`);
          expect(afterAt).toBeGreaterThanOrEqual(0);
          admitted.splice(afterAt, 1);
          // Every request the upstream parsed is one the gateway admitted, in the same order, with
          // the body the gateway parsed; one the upstream parsed completely was complete at the
          // gateway. Admitted requests the client abandoned before they were sent may be missing.
          const context = { bytes, admitted: admitted.map(shape), parsed: parsed.map(shape) };
          let next = 0;
          for (const got of parsed) {
            while (next < admitted.length && admitted[next]!.url !== got.url) next++;
            expect({ ...context, unmatched: shape(got) }).toEqual({
              ...context,
              unmatched: next < admitted.length ? { ...shape(got), url: admitted[next]!.url } : 'admitted',
            });
            const want = admitted[next++]!;
            if (got.complete) expect({ ...context, got: shape(got) }).toEqual({ ...context, got: shape(want) });
            else expect(want.body.startsWith(got.body)).toBe(true);
            expect(valuesOf(got, 'cf-access-jwt-assertion')).toHaveLength(1);
            expect(valuesOf(got, 'host')).toEqual([HOST]);
            if (got.complete) admittedComplete++;
          }
          expect(upstream.requests.some((r) => r.url === '/smuggled')).toBe(false);
          expect({ ...context, upstreamErrors: upstream.errors }).toEqual({ ...context, upstreamErrors: [] });
        }),
        { numRuns: runs, seed: process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined, endOnFailure: true },
      );
      // Not a property that holds because everything was refused. Most generated requests are
      // refused (a `close`, an upgrade, a bad framing, missing credentials), and what is left varies
      // widely between seeds: 15, 15, 17, 27 and 31 complete admitted requests in five runs of 60
      // (a bound of 15, a quarter of the runs, failed CI). A twelfth still fails when nothing passes.
      expect(admittedComplete).toBeGreaterThan(runs / 12);
    },
    60_000 + 1_000 * (Number(process.env.FUZZ_RUNS) || 60),
  );
});
