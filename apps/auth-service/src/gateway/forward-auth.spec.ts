import type { IncomingHttpHeaders } from 'node:http';
import { originalRequest, type ForwardAuthMode } from './forward-auth.js';

/** Headers as Node gives them (lower-case names, repeated ones joined) plus the raw list. */
function check(mode: ForwardAuthMode, raw: Array<[string, string]>, rest = '') {
  const headers: IncomingHttpHeaders = {};
  for (const [k, v] of raw) {
    const lower = k.toLowerCase();
    const earlier = headers[lower];
    headers[lower] = earlier === undefined ? v : `${String(earlier)}, ${v}`;
  }
  return originalRequest(mode, headers, raw.flat(), rest);
}

const GW = ['Host', '127.0.0.1:8000'] as [string, string];

describe('forward auth: which headers name the original request', () => {
  const nginx: Array<[string, string]> = [GW, ['X-Original-URL', 'https://app.example.com/admin/x?y=1']];
  const traefik: Array<[string, string]> = [GW, ['X-Forwarded-Host', 'app.example.com'], ['X-Forwarded-Uri', '/admin/x?y=1'], ['X-Forwarded-Proto', 'https']];
  const envoy: Array<[string, string]> = [['Host', 'app.example.com']];

  it("auto: each proxy's own headers", () => {
    expect(check('auto', nginx)).toEqual({ host: 'app.example.com', target: '/admin/x?y=1' });
    expect(check('auto', traefik)).toEqual({ host: 'app.example.com', target: '/admin/x?y=1' });
    expect(check('auto', envoy, '/admin/x')).toEqual({ host: 'app.example.com', target: '/admin/x' });
    expect(check('auto', [...nginx, ['X-Forwarded-Host', 'app.example.com'], ['X-Forwarded-Uri', '/admin/x']])).toEqual({
      host: 'app.example.com',
      target: '/admin/x?y=1',
    });
  });

  it('auto: 400 when the sources disagree (a client-added header through a proxy that passes them on)', () => {
    // Traefik passes every client header to forwardAuth: the client adds X-Original-URL.
    expect(check('auto', [...traefik, ['X-Original-URL', 'https://public.example.com/']])).toEqual({ reason: 'forward_auth_sources_disagree' });
    // nginx passes client headers to auth_request too: the client adds X-Forwarded-Host or -Uri.
    expect(check('auto', [...nginx, ['X-Forwarded-Host', 'public.example.com']])).toEqual({ reason: 'forward_auth_sources_disagree' });
    expect(check('auto', [...nginx, ['X-Forwarded-Uri', '/public']])).toEqual({ reason: 'forward_auth_sources_disagree' });
    // Envoy: the client adds X-Original-URL or X-Forwarded-Host.
    expect(check('auto', [...envoy, ['X-Original-URL', 'http://public.example.com/']], '/admin')).toEqual({ reason: 'forward_auth_sources_disagree' });
    expect(check('auto', [...envoy, ['X-Forwarded-Host', 'public.example.com']], '/admin')).toEqual({ reason: 'forward_auth_sources_disagree' });
    // Nothing but Host: the request named by Host and /authorize's own path.
    expect(check('auto', [['Host', 'app.example.com']])).toEqual({ host: 'app.example.com', target: '/' });
  });

  it('nginx: X-Original-URL only', () => {
    expect(check('nginx', [...nginx, ['X-Forwarded-Host', 'public.example.com'], ['X-Forwarded-Uri', '/']])).toEqual({
      host: 'app.example.com',
      target: '/admin/x?y=1',
    });
    expect(check('nginx', traefik)).toEqual({ reason: 'missing_x_original_url' });
    expect(check('nginx', [GW, ['X-Original-URL', '/admin']])).toEqual({ host: '127.0.0.1:8000', target: '/admin' });
  });

  it("traefik: X-Forwarded-Host and -Uri only; a client's X-Original-URL is ignored", () => {
    expect(check('traefik', [...traefik, ['X-Original-URL', 'https://public.example.com/']])).toEqual({ host: 'app.example.com', target: '/admin/x?y=1' });
    expect(check('traefik', nginx)).toEqual({ reason: 'missing_x_forwarded_host' });
    expect(check('traefik', [GW, ['X-Forwarded-Host', 'app.example.com']])).toEqual({ reason: 'missing_x_forwarded_uri' });
  });

  it('envoy: Host plus the path after /authorize only', () => {
    expect(check('envoy', [...envoy, ['X-Original-URL', 'http://public.example.com/'], ['X-Forwarded-Host', 'public.example.com']], '/admin')).toEqual({
      host: 'app.example.com',
      target: '/admin',
    });
    expect(check('envoy', envoy)).toEqual({ host: 'app.example.com', target: '/' });
  });

  it('refuses repeated headers and X-Original-URLs that are not plain http(s) URLs', () => {
    expect(check('traefik', [...traefik, ['X-Forwarded-Host', 'public.example.com']])).toEqual({ reason: 'duplicate_x_forwarded_host_header' });
    expect(check('auto', [...nginx, ['X-Original-URL', 'https://public.example.com/']])).toEqual({ reason: 'duplicate_x_original_url_header' });
    expect(check('envoy', [...envoy, ['Host', 'public.example.com']])).toEqual({ reason: 'duplicate_host_header' });
    for (const bad of [
      'http:\\\\public.example.com\\',
      'javascript:alert(1)',
      'https://user:pw@app.example.com/',
      'app.example.com/admin',
      'https:///admin',
      'https://app.example.com#x',
    ]) {
      expect(check('nginx', [GW, ['X-Original-URL', bad]])).toEqual({ reason: 'invalid_original_url' });
    }
    // The target is read raw, for the gateway's canonical form (WHATWG URL would resolve `..`).
    expect(check('nginx', [GW, ['X-Original-URL', 'http://app.example.com/x/../%2e%2e/admin']])).toEqual({
      host: 'app.example.com',
      target: '/x/../%2e%2e/admin',
    });
    expect(check('nginx', [GW, ['X-Original-URL', 'http://app.example.com?q']])).toEqual({ host: 'app.example.com', target: '/?q' });
  });
});
