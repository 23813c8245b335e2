import http, { type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import https from 'node:https';

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** Headers a client must never get through to the upstream: its secret, and identity we assert. */
const STRIPPED = new Set([
  'cf-access-client-id',
  'cf-access-client-secret',
  'cf-access-jwt-assertion',
  'x-gatehouse-token-id',
  'x-gatehouse-token-name',
  'x-gatehouse-client-id',
  'x-gatehouse-app-id',
]);

const httpAgent = new http.Agent({ keepAlive: true, maxSockets: 512, maxFreeSockets: 256 });
const httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 512, maxFreeSockets: 256 });

export interface ProxyTarget {
  upstream: URL;
  jwt: string;
  /** Extra header to strip (the app's single-header credential). */
  singleHeader: string | null;
  setCookie: string | null;
  clientIp: string;
  onError(res: ServerResponse, status: number, body: unknown): void;
}

/** Forwards the request to the upstream with the JWT asserted; streams both bodies. */
export function proxy(req: IncomingMessage, res: ServerResponse, t: ProxyTarget): void {
  const headers: OutgoingHttpHeaders = {};
  const single = t.singleHeader?.toLowerCase();
  for (const name in req.headers) {
    if (HOP_BY_HOP.has(name) || STRIPPED.has(name) || name === single) continue;
    headers[name] = req.headers[name];
  }
  headers['cf-access-jwt-assertion'] = t.jwt;
  const xff = req.headers['x-forwarded-for'];
  headers['x-forwarded-for'] = xff ? `${xff}, ${t.clientIp}` : t.clientIp;
  headers['x-forwarded-proto'] ??= 'http';
  if (req.headers.host) headers['x-forwarded-host'] ??= req.headers.host;

  const base = t.upstream.pathname === '/' ? '' : t.upstream.pathname.replace(/\/+$/, '');
  const secure = t.upstream.protocol === 'https:';
  const upstreamReq = (secure ? https : http).request(
    {
      protocol: t.upstream.protocol,
      hostname: t.upstream.hostname,
      port: t.upstream.port || (secure ? 443 : 80),
      method: req.method,
      path: base + (req.url ?? '/'),
      headers,
      agent: secure ? httpsAgent : httpAgent,
      timeout: 30_000,
    },
    (upstreamRes) => {
      const out: OutgoingHttpHeaders = {};
      for (const name in upstreamRes.headers) {
        if (!HOP_BY_HOP.has(name)) out[name] = upstreamRes.headers[name];
      }
      if (t.setCookie) {
        const prior = out['set-cookie'];
        out['set-cookie'] = prior ? [...(Array.isArray(prior) ? prior : [String(prior)]), t.setCookie] : [t.setCookie];
      }
      res.writeHead(upstreamRes.statusCode ?? 502, out);
      upstreamRes.pipe(res);
      upstreamRes.on('error', () => res.destroy());
    },
  );
  upstreamReq.on('timeout', () => upstreamReq.destroy(new Error('upstream timeout')));
  upstreamReq.on('error', (error) => {
    if (res.headersSent) return void res.destroy();
    const timeout = error.message === 'upstream timeout';
    t.onError(res, timeout ? 504 : 502, { error: timeout ? 'gateway_timeout' : 'bad_gateway', reason: 'upstream_unreachable' });
  });
  // Most requests have no body: end at once instead of setting up a pipe.
  if (req.headers['content-length'] === undefined && req.headers['transfer-encoding'] === undefined) {
    upstreamReq.end();
    req.resume();
  } else req.pipe(upstreamReq);
}
