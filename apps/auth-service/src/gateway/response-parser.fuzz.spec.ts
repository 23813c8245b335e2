import { createRequire } from 'node:module';
import fc from 'fast-check';
import { ResponseParser } from './response-parser.js';

/*
 * Differential fuzzing of the upstream response parser against Node's own (llhttp, strict): for
 * generated responses, well formed or not, the gateway's parser either refuses them, or finds the
 * same final response (status, body) ending at the same byte as llhttp does. Where a response
 * ends is what keeps a pooled connection from handing one client another's response.
 * `FUZZ_RUNS` sets the number of runs (npm run fuzz); the default is a short run for npm test.
 */

// llhttp as Node's HTTP client uses it (an internal, stable since Node 12).
const { HTTPParser } = createRequire(import.meta.url)('_http_common') as { HTTPParser: LlhttpParserClass };

interface LlhttpParserClass {
  new (): LlhttpParser;
  RESPONSE: number;
  kOnHeaders: number;
  kOnHeadersComplete: number;
  kOnBody: number;
  kOnMessageComplete: number;
  kOnExecute: number;
}
interface LlhttpParser {
  [key: number]: unknown;
  initialize(type: number, resource: object): void;
  execute(data: Buffer): number | Error;
  finish(): undefined | Error;
  close(): void;
}

/** A final response as a parser framed it: its status, body, and the offset just after it. */
interface Framed {
  status: number;
  body: string;
  /** Offset of the first byte after the response; null when the close delimited it. */
  end: number | null;
}

/** llhttp's first final (non-1xx) response in `bytes`, fed byte by byte to find where it ends; or 'refused'. */
function llhttpFrame(bytes: Buffer, method: string): Framed | 'refused' {
  const parser = new HTTPParser();
  let current: { status: number; body: string } | null = null;
  let final: Framed | null = null;
  let at = 0;
  parser[HTTPParser.kOnHeaders] = () => undefined;
  parser[HTTPParser.kOnExecute] = () => undefined;
  parser[HTTPParser.kOnHeadersComplete] = (_major: number, _minor: number, _headers: string[], _method: number, _url: string, status: number) => {
    current = { status, body: '' };
    // 1: no body (what Node's client answers for a HEAD request).
    return method === 'HEAD' && status >= 200 ? 1 : 0;
  };
  parser[HTTPParser.kOnBody] = (chunk: Buffer) => {
    if (current) current.body += chunk.toString('latin1');
  };
  parser[HTTPParser.kOnMessageComplete] = () => {
    if (current && current.status >= 200 && !final) final = { ...current, end: at + 1 };
  };
  parser.initialize(HTTPParser.RESPONSE, {});
  try {
    for (; at < bytes.length && !final; at++) {
      if (parser.execute(bytes.subarray(at, at + 1)) instanceof Error) return 'refused';
    }
    if (!final) {
      if (parser.finish() instanceof Error) return 'refused';
      const closed = final as Framed | null;
      if (closed) return { ...closed, end: null };
      return 'refused'; // cut short: no complete response
    }
    return final;
  } finally {
    parser.close();
  }
}

/** The gateway's parser on the same bytes, fed in `pieces` reads; or 'refused'. */
function gatewayFrame(bytes: Buffer, method: string, cuts: number[]): Framed | 'refused' {
  let status = 0;
  let body = '';
  let end: number | null = null;
  let done = false;
  const parser = new ResponseParser({
    head: (head) => void (status = head.status),
    body: (chunk) => void (body += chunk.toString('latin1')),
    done: () => void (done = true),
  });
  parser.start(method);
  const bounds = [...new Set([0, ...cuts.map((c) => Math.min(c, bytes.length)), bytes.length])].sort((a, b) => a - b);
  try {
    for (let i = 1; i < bounds.length && !done; i++) {
      const piece = bytes.subarray(bounds[i - 1], bounds[i]);
      parser.execute(piece);
      const fed = bounds[i]!;
      if (done) {
        // Where in this read did it end? Bytes after it are flagged; find the offset by replay.
        end = parser.extraBytes ? endOffset(bytes, method) : fed;
      }
    }
    if (!done) {
      if (!parser.finish()) return 'refused';
      end = null;
    }
  } catch {
    return 'refused';
  }
  return { status, body, end };
}

/** The offset just after the response, found by feeding the gateway's parser one byte at a time. */
function endOffset(bytes: Buffer, method: string): number {
  let done = false;
  const parser = new ResponseParser({ head: () => undefined, body: () => undefined, done: () => void (done = true) });
  parser.start(method);
  for (let at = 0; at < bytes.length; at++) {
    parser.execute(bytes.subarray(at, at + 1));
    if (done) return at + 1;
  }
  return bytes.length;
}

// ---------------------------------------------------------------------------------------------
// Generated responses: heads and bodies with valid and invalid framing.

/** Mostly the well-formed choice, sometimes one of the others (so that most runs parse at all). */
const mostly = <T>(usual: fc.Arbitrary<T>, ...others: T[]) => fc.oneof({ weight: 6, arbitrary: usual }, fc.constantFrom(...others));
const eol = mostly(fc.constant('\r\n'), '\n', '\r');
const token = mostly(fc.constantFrom('X-A', 'Content-Type', 'Set-Cookie', 'Cache-Control', 'ETag', 'X-Weird_Name'), 'Bad Name', 'X:Colon', '');
const value = mostly(fc.constantFrom('1', 'text/plain', 'a=b; Path=/', ' padded ', '', 'tab\there', 'obs\xe9text'), 'nul\x00byte', 'del\x7f', 'cr\rhere');
const length = (body: string) =>
  mostly(fc.constant(String(Buffer.byteLength(body, 'latin1'))), '0', '5', '005', '+5', '-1', '0x5', '5, 5', ' 5', '99999999999999999999', '');
const codings = mostly(
  fc.constantFrom('chunked', 'Chunked', ' chunked'),
  'gzip, chunked',
  'chunked, gzip',
  'identity',
  'chunked, chunked',
  '',
  'xchunked',
  'gzip',
);

/** A chunked encoding of `body`, with valid or invalid sizes, extensions, trailers and line ends. */
const chunked = (body: string) =>
  fc
    .record({
      pieces: fc.integer({ min: 1, max: 4 }),
      size: mostly(fc.constantFrom('hex', 'HEX', 'ext'), 'wrong', 'space', 'badext', 'negative'),
      dataEnd: mostly(fc.constant('\r\n'), '\n', '', 'XX'),
      last: mostly(fc.constantFrom('0\r\n\r\n', '0\r\nX-Trailer: t\r\n\r\n', '00\r\n\r\n', '0;x=y\r\n\r\n'), '0\r\n', '0\r\nbad trailer\r\n\r\n', ''),
    })
    .map(({ pieces, size, dataEnd, last }) => {
      let out = '';
      const step = Math.max(1, Math.ceil(body.length / pieces));
      for (let at = 0; at < body.length; at += step) {
        const piece = body.slice(at, at + step);
        const hex = piece.length.toString(16);
        const line = {
          hex,
          HEX: hex.toUpperCase(),
          wrong: (piece.length + 1).toString(16),
          space: `${hex} `,
          ext: `${hex};name=value`,
          badext: `${hex};\x01`,
          negative: `-${hex}`,
        }[size];
        out += `${line}\r\n${piece}${dataEnd}`;
      }
      return out + last;
    });

const responseArb = fc
  .record({
    method: fc.constantFrom('GET', 'GET', 'HEAD'),
    interim: fc.array(
      fc.constantFrom('HTTP/1.1 100 Continue\r\n\r\n', 'HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n', 'HTTP/1.1 102 Processing\r\n\r\n'),
      { maxLength: 2 },
    ),
    version: mostly(fc.constantFrom('HTTP/1.1', 'HTTP/1.0'), 'HTTP/1.2', 'HTTP/2', 'http/1.1'),
    status: mostly(fc.constantFrom('200', '201', '204', '206', '301', '304', '404', '500'), '101', '1000', '099', '2x0'),
    reason: mostly(fc.constantFrom(' OK', ' ', ' Reason With Spaces'), '', ' bad\x01'),
    body: fc.string({ unit: fc.constantFrom('a', 'b', '\r', '\n', '0', 'H', ' '), maxLength: 24 }),
    framing: mostly(fc.constantFrom('length', 'chunked', 'none'), 'both', 'twoLengths'),
    extra: fc.array(fc.tuple(token, value), { maxLength: 3 }),
    fold: mostly(fc.constant(false), true),
    lineEnd: eol,
    connection: fc.constantFrom(null, 'close', 'keep-alive', 'Close, X-A'),
  })
  .chain((r) =>
    fc.record({
      r: fc.constant(r),
      cl: length(r.body),
      cl2: length(r.body),
      te: codings,
      chunks: chunked(r.body),
      cuts: fc.array(fc.nat({ max: 400 }), { maxLength: 3 }),
    }),
  )
  .map(({ r, cl, cl2, te, chunks, cuts }) => {
    const lines = [`${r.version} ${r.status}${r.reason}`];
    for (const [name, v] of r.extra) lines.push(`${name}: ${v}`);
    if (r.connection) lines.push(`Connection: ${r.connection}`);
    if (r.framing === 'length' || r.framing === 'both' || r.framing === 'twoLengths') lines.push(`Content-Length: ${cl}`);
    if (r.framing === 'twoLengths') lines.push(`Content-Length: ${cl2}`);
    if (r.framing === 'chunked' || r.framing === 'both') lines.push(`Transfer-Encoding: ${te}`);
    if (r.fold) lines.push(' folded continuation');
    const usesChunks = (r.framing === 'chunked' || r.framing === 'both') && te.toLowerCase().includes('chunked');
    const head = r.interim.join('') + lines.join(r.lineEnd) + '\r\n\r\n';
    // What follows on the connection: another response, so that framing too long or too short shows.
    const text = head + (usesChunks ? chunks : r.body) + 'HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nNEXT';
    return { method: r.method, bytes: Buffer.from(text, 'latin1'), cuts };
  });

describe('ResponseParser against llhttp (differential, property-based)', () => {
  it('refuses, or frames the final response exactly as llhttp does', () => {
    const numRuns = Number(process.env.FUZZ_RUNS) || 300;
    let accepted = 0;
    fc.assert(
      fc.property(responseArb, ({ method, bytes, cuts }) => {
        const ours = gatewayFrame(bytes, method, cuts);
        if (ours === 'refused') return;
        accepted++;
        const theirs = llhttpFrame(bytes, method);
        expect({ text: bytes.toString('latin1'), method, framed: theirs }).toEqual({ text: bytes.toString('latin1'), method, framed: ours });
      }),
      { numRuns, seed: process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined },
    );
    // Not a property that holds because everything is refused.
    expect(accepted).toBeGreaterThan(numRuns / 10);
  });

  it('finds the same framing for well-formed responses (the generator is not all noise)', () => {
    const wellFormed = [
      'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok',
      'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2;a=b\r\nok\r\n0\r\nX-T: 1\r\n\r\n',
      'HTTP/1.1 204 No Content\r\n\r\n',
      'HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n',
      'HTTP/1.0 200 OK\r\n\r\nuntil the close',
    ];
    for (const text of wellFormed) {
      const bytes = Buffer.from(`${text}HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nNEXT`, 'latin1');
      const ours = gatewayFrame(bytes, 'GET', [7]);
      expect(ours).not.toBe('refused');
      expect(ours).toEqual(llhttpFrame(bytes, 'GET'));
    }
  });
});
