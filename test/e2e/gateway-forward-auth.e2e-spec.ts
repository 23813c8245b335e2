import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expectEventually, freePort, waitForPort } from '@gatehouse/testing';
import { request as rawRequest } from '../src/raw-http.js';
import { startSystem, type System } from '../src/system.js';

const NGINX = process.env.NGINX_BIN ?? '/usr/sbin/nginx';

const request = (port: number, host: string, headers: Record<string, string> = {}, path = '/') => rawRequest(`http://127.0.0.1:${port}`, host, headers, path);

/** nginx (Debian's package) in front of an upstream, asking the gateway with auth_request. */
async function startNginx(gatewayPort: number, upstreamPort: number): Promise<{ port: number; stop(): Promise<void>; log(): string }> {
  const probe = spawnSync(NGINX, ['-v']);
  if (probe.error)
    throw new Error(`nginx is required for the forward-auth test and is not installed (${probe.error.message}); install it with: apt-get install -y nginx`);
  const dir = mkdtempSync(join(tmpdir(), 'gh-nginx-'));
  for (const d of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, d));
  const port = await freePort();
  const conf = `
${process.getuid?.() === 0 ? 'user root;' : ''}
worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 512; }
http {
  access_log off;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fastcgi; uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${port};
    location = /_gatehouse_auth {
      internal;
      proxy_pass http://127.0.0.1:${gatewayPort}/cdn-cgi/access/authorize;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Original-URL $scheme://$http_host$request_uri;
      proxy_set_header X-Forwarded-Host "";
      proxy_set_header X-Forwarded-Uri "";
    }
    location / {
      auth_request /_gatehouse_auth;
      auth_request_set $gh_jwt $upstream_http_cf_access_jwt_assertion;
      auth_request_set $gh_client_id $upstream_http_x_gatehouse_client_id;
      auth_request_set $gh_cookie $upstream_http_set_cookie;
      proxy_set_header Cf-Access-Jwt-Assertion $gh_jwt;
      proxy_set_header X-Gatehouse-Client-Id $gh_client_id;
      proxy_set_header Cf-Access-Client-Id "";
      proxy_set_header Cf-Access-Client-Secret "";
      auth_request_set $gh_token_id $upstream_http_x_gatehouse_token_id;
      auth_request_set $gh_token_name $upstream_http_x_gatehouse_token_name;
      auth_request_set $gh_app_id $upstream_http_x_gatehouse_app_id;
      proxy_set_header X-Gatehouse-Token-Id $gh_token_id;
      proxy_set_header X-Gatehouse-Token-Name $gh_token_name;
      proxy_set_header X-Gatehouse-App-Id $gh_app_id;
      proxy_set_header X-Original-URL "";
      proxy_set_header X-Rewrite-URL "";
      proxy_set_header X-Forwarded-Host $http_host;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_set_header X-Forwarded-Port "";
      proxy_set_header X-Forwarded-Prefix "";
      proxy_set_header X-Forwarded-Uri "";
      proxy_set_header Forwarded "";
      proxy_set_header X-Real-IP "";
      proxy_set_header Cf-Access-Authenticated-User-Email "";
      proxy_set_header Cf-Connecting-IP $remote_addr;
      proxy_set_header True-Client-IP "";
      proxy_set_header Cf-Visitor "";
      add_header Set-Cookie $gh_cookie;
      proxy_pass http://127.0.0.1:${upstreamPort};
    }
  }
}`;
  writeFileSync(join(dir, 'nginx.conf'), conf);
  const child: ChildProcess = spawn(NGINX, ['-p', dir, '-e', join(dir, 'error.log'), '-c', join(dir, 'nginx.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
  const out: string[] = [];
  child.stdout!.on('data', (b) => out.push(String(b)));
  child.stderr!.on('data', (b) => out.push(String(b)));
  await waitForPort(port).catch((e) => {
    child.kill('SIGKILL');
    throw new Error(`nginx did not start: ${(e as Error).message}\n${out.join('')}`);
  });
  return {
    port,
    log: () => out.join(''),
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => {
          rmSync(dir, { recursive: true, force: true });
          resolve();
        });
        child.kill('SIGQUIT');
      }),
  };
}

describe('gateway forward auth (nginx auth_request, Traefik/Envoy headers)', () => {
  let sys: System;
  let gwPort: number;
  let nginx: Awaited<ReturnType<typeof startNginx>>;
  let upstream: http.Server;
  const received: http.IncomingHttpHeaders[] = [];
  const suffix = randomBytes(4).toString('hex');
  const host = `fa-${suffix}.gateway.test`;
  let accountId: string;
  let admittedToken: any;
  let otherToken: any;

  const ok = async (path: string, method = 'GET', json?: unknown) => {
    const res = await sys.api(`/client/v4/accounts/${accountId}${path}`, { method, json });
    if (res.status !== 200) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body.result;
  };
  const creds = (t: any) => ({ 'cf-access-client-id': t.client_id, 'cf-access-client-secret': t.client_secret });

  beforeAll(async () => {
    upstream = http.createServer((req, res) => {
      received.push(req.headers);
      res.end(`behind nginx ${req.url}`);
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    gwPort = await freePort();
    sys = await startSystem({
      extra: [{ name: 'auth-service', migrate: true, env: { GATEHOUSE_GATEWAY_PORT: String(gwPort), GATEHOUSE_TEAM_URL: `http://127.0.0.1:${gwPort}` } }],
    });
    nginx = await startNginx(gwPort, (upstream.address() as { port: number }).port);
    await expectEventually(async () => expect(JSON.parse((await request(gwPort, 'x', {}, '/cdn-cgi/access/health')).body).status).toBe('ok'), {
      timeoutMs: 20_000,
      intervalMs: 100,
    });
    accountId = await sys.defaultAccountId();
    // No upstream: this application exists only for forward auth.
    const app = await ok('/access/apps', 'POST', { name: `FA ${suffix}`, domain: host });
    admittedToken = await ok('/access/service_tokens', 'POST', { name: `fa-${suffix}` });
    otherToken = await ok('/access/service_tokens', 'POST', { name: `fa-other-${suffix}` });
    await ok(`/access/apps/${app.id}/policies`, 'POST', { name: 'fa', decision: 'non_identity', include: [{ service_token: { token_id: admittedToken.id } }] });
    await expectEventually(async () => expect((await request(nginx.port, host, creds(admittedToken))).status).toBe(200), { timeoutMs: 3000 });
  });
  afterAll(async () => {
    await nginx?.stop();
    upstream?.closeAllConnections();
    upstream?.close();
    await sys?.stop();
  });

  it('nginx admits a service token: the upstream gets the JWT, never the secret; the client gets the cookie', async () => {
    const res = await request(nginx.port, host, creds(admittedToken), '/hello');
    expect(res.status).toBe(200);
    expect(res.body).toBe('behind nginx /hello');
    const fwd = received.at(-1)!;
    expect(fwd['cf-access-jwt-assertion']).toMatch(/^eyJ/);
    expect(fwd['x-gatehouse-client-id']).toBe(admittedToken.client_id);
    expect(fwd['cf-access-client-secret']).toBeUndefined();
    const jwt = /CF_Authorization=([^;]+)/.exec(String(res.headers['set-cookie']))![1]!;
    expect(jwt).toBe(fwd['cf-access-jwt-assertion']);
    expect((await request(nginx.port, host, { cookie: `CF_Authorization=${jwt}` }, '/again')).status).toBe(200);
  });

  it('nginx passes on 401 (no or bad credentials) and 403 (not admitted)', async () => {
    const before = received.length;
    expect((await request(nginx.port, host)).status).toBe(401);
    expect((await request(nginx.port, host, { ...creds(admittedToken), 'cf-access-client-secret': otherToken.client_secret })).status).toBe(401);
    expect((await request(nginx.port, host, { 'cf-access-token': 'e.y.j' })).status).toBe(401);
    expect((await request(nginx.port, host, creds(otherToken))).status).toBe(403);
    expect(received.length).toBe(before);
  });

  it("nginx as documented: the client's identity, routing and forwarding headers never reach the service behind it", async () => {
    // The check judges the request nginx forwards (/public); an upstream that routes by
    // X-Original-URL (Symfony, IIS) or X-Forwarded-Host, or trusts X-Gatehouse-*, must not be
    // handed the client's values for them next to this request's JWT.
    const forged = {
      'x-original-url': '/admin/users',
      'x-rewrite-url': '/admin/users',
      'x-forwarded-host': `admin-${suffix}.gateway.test`,
      'x-forwarded-proto': 'https',
      'x-forwarded-for': '203.0.113.66',
      forwarded: 'for=203.0.113.66;host=evil.test',
      'x-real-ip': '203.0.113.66',
      'x-gatehouse-token-id': 'forged-token-id',
      'x-gatehouse-token-name': 'forged-name',
      'x-gatehouse-app-id': 'forged-app-id',
      'x-gatehouse-client-id': 'forged-client-id',
      'cf-access-jwt-assertion': 'forged.jwt.value',
      'cf-access-authenticated-user-email': 'forged@admin.example',
      'cf-connecting-ip': '203.0.113.66',
      'true-client-ip': '203.0.113.66',
      'cf-visitor': '{"scheme":"https","forged":1}',
    };
    const res = await request(nginx.port, host, { ...creds(admittedToken), ...forged }, '/public');
    expect(res.status).toBe(200);
    const fwd = received.at(-1)!;
    expect(JSON.stringify(fwd)).not.toMatch(/forged|admin|203\.0\.113\.66|evil/);
    expect(fwd['x-gatehouse-token-id']).toBe(admittedToken.id);
    expect(fwd['x-gatehouse-client-id']).toBe(admittedToken.client_id);
    expect(fwd['x-forwarded-host']).toBe(host);
    expect(fwd['x-forwarded-proto']).toBe('http');
  });

  it('answers Traefik-style (X-Forwarded-Host/Uri) and Envoy-style (path suffix) checks with identity headers', async () => {
    const traefik = await request(
      gwPort,
      '127.0.0.1',
      { 'x-forwarded-host': host, 'x-forwarded-uri': '/x', 'x-forwarded-method': 'GET', ...creds(admittedToken) },
      '/cdn-cgi/access/authorize',
    );
    expect(traefik.status).toBe(200);
    expect(traefik.headers).toMatchObject({
      'cf-access-jwt-assertion': expect.stringMatching(/^eyJ/),
      'x-gatehouse-token-id': admittedToken.id,
      'x-gatehouse-client-id': admittedToken.client_id,
      'x-gatehouse-token-name': encodeURIComponent(admittedToken.name),
    });
    const envoy = await request(gwPort, host, creds(admittedToken), '/cdn-cgi/access/authorize/some/path');
    expect(envoy.status).toBe(200);
    const refused = await request(gwPort, host, creds(otherToken), '/cdn-cgi/access/authorize/some/path');
    expect([refused.status, JSON.parse(refused.body)]).toEqual([403, { error: 'forbidden', reason: 'forbidden' }]);
    expect((await request(gwPort, `unknown-${suffix}.test`, creds(admittedToken), '/cdn-cgi/access/authorize')).status).toBe(404);
  });
});
