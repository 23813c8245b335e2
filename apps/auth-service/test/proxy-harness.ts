import crypto from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { accepts } from '@gatehouse/testing';
import {
  UpstreamPool,
  answerInProgress,
  isWebSocketUpgrade,
  plainResponse,
  type ProxyTarget,
  type TunnelTarget,
  type UpstreamPoolOptions,
} from '../src/gateway/proxy.js';

/*
 * What the proxy-*.int-spec.ts files share: UpstreamPool (src/gateway/proxy.ts) over real loopback
 * sockets, with a Node http.Server in front (as in the gateway) and upstreams that are either Node
 * http servers or raw TCP servers that record the bytes they receive and answer with exact bytes.
 * Every spec file calls `afterEach(runCleanups)`.
 */

type Cleanup = () => void | Promise<void>;
let cleanups: Cleanup[] = [];

export function onCleanup(cleanup: Cleanup): void {
  cleanups.push(cleanup);
}

export async function runCleanups(): Promise<void> {
  const list = cleanups.reverse();
  cleanups = [];
  for (const cleanup of list) await cleanup();
}

export async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return (server.address() as net.AddressInfo).port;
}

export function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/** A port on which nothing listens, and none of the tests will listen. */
export async function closedPort(): Promise<number> {
  // Port 1 (tcpmux, a privileged port no test binds): outside the ephemeral range that listen(0)
  // picks from, so no server a parallel test starts can take it, as one could take a port that
  // was free a moment ago. Used when it refuses connections, as it does on a machine that runs no
  // tcpmux.
  if (!(await accepts(1))) return 1;
  const probe = net.createServer();
  const port = await listen(probe);
  await closeServer(probe);
  return port;
}

export function newPool(options: UpstreamPoolOptions = {}): UpstreamPool {
  const pool = new UpstreamPool({ responseTimeoutMs: 2000, ...options });
  onCleanup(() => pool.close());
  return pool;
}

export const JWT = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ0ZXN0In0.c2ln';

export function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return void res.destroy();
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export function target(upstream: string, extra: Partial<ProxyTarget> = {}): ProxyTarget {
  return { upstream: new URL(upstream), jwt: JWT, singleHeader: null, setCookie: null, clientIp: '198.51.100.7', onError: sendJson, ...extra };
}

/** The gateway's front: every request is forwarded with `target`. */
export async function startFront(pool: UpstreamPool, upstream: string, extra: Partial<ProxyTarget> = {}): Promise<number> {
  const forwarded = target(upstream, extra);
  const server = http.createServer((req, res) => pool.forward(req, res, forwarded));
  const port = await listen(server);
  onCleanup(async () => {
    server.closeAllConnections();
    await closeServer(server);
  });
  return port;
}

/**
 * A front for upgrade requests only, as the gateway's 'upgrade' handler: WebSocket is tunnelled
 * (refusals written raw), any other protocol forwarded as a plain request.
 */
export async function startTunnelFront(pool: UpstreamPool, upstream: string, extra: Partial<TunnelTarget> = {}): Promise<number> {
  const server = http.createServer();
  server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, early: Buffer) => {
    if (answerInProgress(socket)) return void socket.destroy();
    if (!isWebSocketUpgrade(req)) return pool.forward(req, plainResponse(req, socket), target(upstream));
    socket.pause();
    socket.on('error', () => socket.destroy());
    pool.tunnel(req, socket, early, {
      upstream: new URL(upstream),
      jwt: JWT,
      singleHeader: null,
      setCookie: null,
      clientIp: '198.51.100.7',
      refuse: (status, body) => {
        const text = JSON.stringify(body);
        socket.end(`HTTP/1.1 ${status} X\r\ncontent-length: ${text.length}\r\nconnection: close\r\n\r\n${text}`);
      },
      ...extra,
    });
  });
  const port = await listen(server);
  onCleanup(async () => {
    server.closeAllConnections();
    await closeServer(server);
  });
  return port;
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  rawHeaders: string[];
  body: Buffer;
  informational: number[];
}

export interface ClientRequest {
  method?: string;
  path?: string;
  headers?: http.OutgoingHttpHeaders;
  body?: string | Buffer;
  /** Written one by one without a Content-Length: the client sends Transfer-Encoding: chunked. */
  chunks?: Buffer[];
}

export function request(port: number, o: ClientRequest = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const informational: number[] = [];
    const headers = { ...o.headers };
    if (o.body !== undefined && headers['content-length'] === undefined) headers['content-length'] = Buffer.byteLength(o.body);
    const req = http.request({ host: '127.0.0.1', port, method: o.method ?? 'GET', path: o.path ?? '/', headers, agent: false }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, rawHeaders: res.rawHeaders, body: Buffer.concat(parts), informational }));
      res.on('error', reject);
    });
    req.on('information', (info) => informational.push(info.statusCode));
    req.on('error', reject);
    if (o.chunks) {
      for (const c of o.chunks) req.write(c);
      req.end();
    } else {
      req.end(o.body);
    }
  });
}

export const json = (r: Reply): unknown => JSON.parse(r.body.toString('utf8'));

/** A raw client connection: what it has received so far, and a promise of everything once closed. */
export interface RawConnection {
  socket: net.Socket;
  received(): string;
  closed: Promise<string>;
}

/** `localAddress`: the client's own address (any of 127.0.0.0/8 on loopback), which the gateway sends upstream in X-Forwarded-For. */
export function rawConnection(
  port: number,
  bytes: string | Buffer,
  { end = false, localAddress }: { end?: boolean; localAddress?: string } = {},
): RawConnection {
  const socket = net.connect({ port, host: '127.0.0.1', localAddress }, () => {
    const data = typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes;
    if (end) socket.end(data);
    else socket.write(data);
  });
  const parts: Buffer[] = [];
  socket.on('data', (d: Buffer) => parts.push(d));
  socket.on('error', () => socket.destroy());
  const received = () => Buffer.concat(parts).toString('latin1');
  const closed = new Promise<string>((resolve) => socket.on('close', () => resolve(received())));
  onCleanup(() => void socket.destroy());
  return { socket, received, closed };
}

/** Writes raw bytes to the front and collects everything it answers until it closes. */
export function rawClient(port: number, bytes: string): Promise<string> {
  return rawConnection(port, bytes).closed;
}

/** The status code and JSON body of a raw HTTP answer. */
export function rawReply(text: string): { status: number; body: unknown } {
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
  const at = text.indexOf('\r\n\r\n');
  const rest = at < 0 ? '' : text.slice(at + 4);
  let body: unknown = rest;
  try {
    body = JSON.parse(rest);
  } catch {
    // not JSON: kept as text
  }
  return { status, body };
}

// ---------------------------------------------------------------------------------------------
// A raw upstream: parses requests itself, counts connections, and answers with exact bytes.

export interface RawRequest {
  method: string;
  target: string;
  /** The request line and header lines exactly as received. */
  head: string;
  /** [lower-cased name, value] in the order received. */
  headers: Array<[string, string]>;
  body: Buffer;
  /** 1-based connection number at the upstream, and request number on that connection. */
  conn: number;
  n: number;
  socket: net.Socket;
}

export interface RawConn {
  socket: net.Socket;
  closed: boolean;
  requests: number;
  /** Every byte received on this connection. */
  bytes: Buffer[];
}

function decodeChunked(buf: Buffer): { body: Buffer; consumed: number } | null {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = buf.indexOf('\r\n', at);
    if (eol < 0) return null;
    const size = parseInt(buf.toString('latin1', at, eol).split(';')[0]!, 16);
    at = eol + 2;
    if (size === 0) {
      const end = buf.indexOf('\r\n\r\n', at - 2);
      if (end < 0) return null;
      return { body: Buffer.concat(parts), consumed: end + 4 };
    }
    if (buf.length < at + size + 2) return null;
    parts.push(buf.subarray(at, at + size));
    at += size + 2;
  }
}

export class RawUpstream {
  readonly conns: RawConn[] = [];
  readonly requests: RawRequest[] = [];
  port = 0;
  private readonly server: net.Server;

  constructor(private readonly onRequest: (r: RawRequest) => void | Promise<void>) {
    this.server = net.createServer((socket) => {
      const conn: RawConn = { socket, closed: false, requests: 0, bytes: [] };
      this.conns.push(conn);
      const connNo = this.conns.length;
      let buf: Buffer = Buffer.alloc(0);
      socket.on('error', () => {});
      socket.on('close', () => (conn.closed = true));
      socket.on('data', (d: Buffer) => {
        conn.bytes.push(d);
        buf = Buffer.concat([buf, d]);
        for (;;) {
          const end = buf.indexOf('\r\n\r\n');
          if (end < 0) return;
          const head = buf.toString('latin1', 0, end);
          const lines = head.split('\r\n');
          const [method, target] = lines[0]!.split(' ') as [string, string];
          const headers = lines.slice(1).map((l): [string, string] => {
            const i = l.indexOf(':');
            return [l.slice(0, i).toLowerCase(), l.slice(i + 1).trim()];
          });
          const rest = buf.subarray(end + 4);
          const te = headers.find(([k]) => k === 'transfer-encoding');
          const cl = headers.find(([k]) => k === 'content-length');
          let body: Buffer = Buffer.alloc(0);
          let consumed = 0;
          if (te) {
            const r = decodeChunked(rest);
            if (!r) return;
            ({ body, consumed } = r);
          } else if (cl) {
            const len = Number(cl[1]);
            if (rest.length < len) return;
            body = rest.subarray(0, len);
            consumed = len;
          }
          buf = rest.subarray(consumed);
          conn.requests++;
          const r: RawRequest = { method, target, head, headers, body, conn: connNo, n: conn.requests, socket };
          this.requests.push(r);
          void this.onRequest(r);
        }
      });
    });
  }

  static async start(onRequest: (r: RawRequest) => void | Promise<void>): Promise<RawUpstream> {
    const u = new RawUpstream(onRequest);
    u.port = await listen(u.server);
    onCleanup(async () => {
      for (const c of u.conns) c.socket.destroy();
      await closeServer(u.server);
    });
    return u;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Everything received on connection `n` (1-based), as latin1 text. */
  received(n = 1): string {
    return Buffer.concat(this.conns[n - 1]?.bytes ?? []).toString('latin1');
  }
}

/** The values of header `name` (lower case) in a recorded request. */
export const valuesOf = (r: { headers: Array<[string, string]> }, name: string): string[] => r.headers.filter(([k]) => k === name).map(([, v]) => v);

/**
 * Writes the pieces as separate TCP writes: each is flushed to the kernel, and a turn of the event
 * loop passes, before the next (so that, on loopback, they usually arrive apart).
 */
export async function writePieces(s: net.Socket, pieces: Array<string | Buffer>): Promise<void> {
  s.setNoDelay(true);
  for (const p of pieces) {
    if (s.destroyed) return;
    await new Promise<void>((resolve) => s.write(typeof p === 'string' ? Buffer.from(p, 'latin1') : p, () => resolve()));
    await nextTurn();
  }
}

export const ok = (body: string, extra = ''): string =>
  `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n${extra}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;

/** A Node http upstream (llhttp parses what the gateway sends). */
export async function startHttpUpstream(handler: http.RequestListener): Promise<number> {
  return (await startHttpUpstreamServer(handler)).port;
}

/** startHttpUpstream, and its server (for its other events). */
export async function startHttpUpstreamServer(handler: http.RequestListener, options: http.ServerOptions = {}): Promise<{ port: number; server: http.Server }> {
  const server = http.createServer(options, handler);
  const port = await listen(server);
  onCleanup(async () => {
    server.closeAllConnections();
    await closeServer(server);
  });
  return { port, server };
}

export const sha256 = (b: Buffer): string => crypto.createHash('sha256').update(b).digest('hex');

/** A request as Node's own parser (llhttp) saw it, at the front or at an upstream. */
export interface ParsedRequest {
  method: string;
  url: string;
  /** [lower-cased name, value] in the order received. */
  headers: Array<[string, string]>;
  body: string;
  /** The whole body arrived (the message ended as framed). */
  complete: boolean;
}

/** A request's method, target and headers as parsed, added to `list`; its body is recorded by the caller. */
function recorded(list: ParsedRequest[], req: http.IncomingMessage): ParsedRequest {
  const headers: Array<[string, string]> = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2) headers.push([req.rawHeaders[i]!.toLowerCase(), req.rawHeaders[i + 1]!]);
  const r: ParsedRequest = { method: req.method!, url: req.url!, headers, body: '', complete: false };
  list.push(r);
  return r;
}

function recordInto(list: ParsedRequest[], req: http.IncomingMessage, done?: (r: ParsedRequest) => void): void {
  const r = recorded(list, req);
  req.setEncoding('latin1');
  req.on('data', (d: string) => (r.body += d));
  req.on('end', () => {
    r.complete = true;
    done?.(r);
  });
}

/**
 * An upstream that parses with Node's llhttp and records every request it parsed, and every parse
 * error (not a connection closed mid-request: that is how the gateway abandons one).
 */
export async function startRecordingUpstream(): Promise<{ url: string; requests: ParsedRequest[]; errors: string[] }> {
  const requests: ParsedRequest[] = [];
  const errors: string[] = [];
  // Each answer names the request it answers (its place among all parsed, and its target), so a
  // client can tell its own answer from any other's.
  const server = http.createServer((req, res) => recordInto(requests, req, (r) => res.end(`seen #${requests.indexOf(r) + 1} ${r.url}`)));
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    if (error.code !== 'ECONNRESET' && error.code !== 'HPE_INVALID_EOF_STATE') errors.push(error.code ?? error.message);
    socket.destroy();
  });
  const port = await listen(server);
  onCleanup(async () => {
    server.closeAllConnections();
    await closeServer(server);
  });
  return { url: `http://127.0.0.1:${port}`, requests, errors };
}

/**
 * Records a request as Node's parser pushes it into the request stream (its body, and its end),
 * without reading the stream: the proxy alone decides when the body is read (a pipelined request's
 * only once its turn comes) and how (bytes, not decoded text).
 */
function recordPushed(list: ParsedRequest[], req: http.IncomingMessage): void {
  const r = recorded(list, req);
  const push = req.push.bind(req);
  req.push = (chunk: unknown, encoding?: BufferEncoding) => {
    if (chunk === null) r.complete = true;
    else if (Buffer.isBuffer(chunk)) r.body += chunk.toString('latin1');
    return push(chunk, encoding);
  };
}

/** startFront, recording every request the front admitted (as Node parsed it) before forwarding it. */
export async function startRecordingFront(
  pool: UpstreamPool,
  upstream: string,
  extra: Partial<ProxyTarget> = {},
): Promise<{ port: number; admitted: ParsedRequest[] }> {
  const admitted: ParsedRequest[] = [];
  const forwarded = target(upstream, extra);
  const server = http.createServer((req, res) => {
    recordPushed(admitted, req);
    pool.forward(req, res, forwarded);
  });
  const port = await listen(server);
  onCleanup(async () => {
    server.closeAllConnections();
    await closeServer(server);
  });
  return { port, admitted };
}
