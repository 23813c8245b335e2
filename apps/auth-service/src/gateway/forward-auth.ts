import type { IncomingHttpHeaders } from 'node:http';

/**
 * Which headers of a forward-auth request name the original request (GATEHOUSE_FORWARD_AUTH_HEADERS):
 * - `nginx`: `X-Original-URL` only (nginx `auth_request` sets it; see docs/gateway-forward-auth.md);
 * - `traefik`: `X-Forwarded-Host` + `X-Forwarded-Uri` only (Traefik `forwardAuth` sets them);
 * - `envoy`: `Host` + the path after `/cdn-cgi/access/authorize` (Envoy `ext_authz` `path_prefix`);
 * - `auto`: whichever of these are present (Host + path when the check has a path after
 *   /authorize, or when no header names the request); 400 when they disagree, so a header a
 *   client added itself (a proxy that forwards client headers to the check) can never pick the
 *   application.
 */
export type ForwardAuthMode = 'auto' | 'nginx' | 'traefik' | 'envoy';
export const FORWARD_AUTH_MODES = ['auto', 'nginx', 'traefik', 'envoy'] as const;

/** The original request as named by the proxy: Host-header form and request target. */
export interface OriginalRequest {
  host: string;
  target: string;
}

type Source = OriginalRequest & { from: string };

const NAMED = ['x-original-url', 'x-forwarded-host', 'x-forwarded-uri', 'host'];

function single(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** More than one header of a name (Node joins most of them with ", "): which one the proxy set is unknowable. */
function repeated(rawHeaders: string[]): string | null {
  const seen = new Set<string>();
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const lower = rawHeaders[i]!.toLowerCase();
    if (!NAMED.includes(lower)) continue;
    if (seen.has(lower)) return lower;
    seen.add(lower);
  }
  return null;
}

/**
 * `X-Original-URL`: `scheme://host[:port]/target` (nginx: `$scheme://$http_host$request_uri`), or
 * a bare target with the Host header. Read as raw text, never through WHATWG URL, which would
 * resolve dot segments and turn `\` into `/` before the gateway's own canonical form sees them.
 */
function fromOriginalUrl(value: string, hostHeader: string): Source | { reason: string } {
  if (value.startsWith('/')) return { from: 'x-original-url', host: hostHeader, target: value };
  const m = /^https?:\/\/([^/?#\\@\s]+)([/?].*)?$/i.exec(value);
  if (!m) return { reason: 'invalid_original_url' };
  const rest = m[2] ?? '/';
  return { from: 'x-original-url', host: m[1]!, target: rest.startsWith('?') ? `/${rest}` : rest };
}

/**
 * The original request a forward-auth check is about, or why it cannot be known (answered 400).
 * `rest` is what follows `/cdn-cgi/access/authorize` in the check's own path ('' for none).
 */
export function originalRequest(mode: ForwardAuthMode, headers: IncomingHttpHeaders, rawHeaders: string[], rest: string): OriginalRequest | { reason: string } {
  const twice = repeated(rawHeaders);
  if (twice) return { reason: `duplicate_${twice.replace(/-/g, '_')}_header` };
  const hostHeader = single(headers, 'host') ?? '';
  const sources: Source[] = [];
  const original = single(headers, 'x-original-url');
  if (original !== undefined && (mode === 'auto' || mode === 'nginx')) {
    const s = fromOriginalUrl(original, hostHeader);
    if ('reason' in s) return s;
    sources.push(s);
  }
  const fwdHost = single(headers, 'x-forwarded-host');
  const fwdUri = single(headers, 'x-forwarded-uri');
  if ((fwdHost !== undefined || fwdUri !== undefined) && (mode === 'auto' || mode === 'traefik')) {
    if (mode === 'traefik' && fwdHost === undefined) return { reason: 'missing_x_forwarded_host' };
    if (mode === 'traefik' && fwdUri === undefined) return { reason: 'missing_x_forwarded_uri' };
    sources.push({ from: 'x-forwarded', host: fwdHost ?? hostHeader, target: fwdUri ?? (rest || '/') });
  }
  // Host + path is a source of its own when the check carries a path (Envoy's path_prefix), or
  // when nothing else names the request; nginx and Traefik ask /authorize itself, with the
  // gateway's own address as Host.
  if (mode === 'envoy' || (mode === 'auto' && (rest !== '' || !sources.length))) sources.push({ from: 'host', host: hostHeader, target: rest || '/' });
  if (!sources.length) return { reason: mode === 'nginx' ? 'missing_x_original_url' : 'missing_x_forwarded_host' };
  const first = sources[0]!;
  for (const s of sources.slice(1)) {
    if (s.host.toLowerCase() !== first.host.toLowerCase() || pathOf(s.target) !== pathOf(first.target)) return { reason: 'forward_auth_sources_disagree' };
  }
  return { host: first.host, target: first.target };
}

function pathOf(target: string): string {
  const q = target.indexOf('?');
  return q < 0 ? target : target.slice(0, q);
}
