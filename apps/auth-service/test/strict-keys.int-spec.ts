import http from 'node:http';
import { createRemoteJWKSet, jwtVerify, decodeProtectedHeader } from 'jose';
import {
  GetSigningKeys,
  RotateSigningKeys,
  UpdateSigningKeys,
  generateClientSecret,
  hashClientSecret,
  type Application,
  type Organization,
  type Policy,
  type VerifierToken,
} from '@gatehouse/contracts';
import { connectRpc } from '@gatehouse/nest-kit';
import { expectEventually, type TestNats } from '@gatehouse/testing';
import { startGateway, type RunningGateway } from '../src/bootstrap.js';
import { appOf, policyOf, tokenOf } from '../src/replica/replica.fixture.js';
import { HASH_KEY, httpGet, silentLog as silent, startGatewayHarness, type GatewayHarness } from './gateway-harness.js';

/**
 * strict_service_token_auth and the access/keys RPCs against real gateways (two replicas on one
 * database), a real nats-server and PostgreSQL; the token service is played by a change-feed responder (test/change-feed.ts).
 */
describe('gateway: strict service-token mode and signing-key rotation', () => {
  let h: GatewayHarness;
  let nats: TestNats;
  let gw: RunningGateway;
  let gw2: RunningGateway;
  let upstream: http.Server;
  const secret = generateClientSecret();
  const token: VerifierToken = tokenOf({ secretHash: hashClientSecret(HASH_KEY, secret), name: 'strict-token' });
  const outsider = generateClientSecret();
  const notAdmitted: VerifierToken = tokenOf({ secretHash: hashClientSecret(HASH_KEY, outsider), name: 'not admitted' });
  let app: Application;
  let policy: Policy;
  let state: { revision: number; tokens: VerifierToken[]; apps: Application[]; policies: Policy[]; organizations: Organization[] };
  const org = (strict: boolean): Organization => ({
    accountId: token.accountId,
    name: 'org',
    authDomain: null,
    sessionDuration: '24h',
    strictServiceTokenAuth: strict,
    serviceTokenInactivity: { enabled: false, inactivityThresholdDays: 90, action: 'disable' },
    createdAt: new Date().toISOString(),
    updatedAt: new Date().toISOString(),
  });
  const env = () => h.env();
  const request = (base: string, path: string, headers: http.OutgoingHttpHeaders = {}) => httpGet(base, path, headers, 'strict.example.com');
  const creds = (t = token, s = secret) => ({ 'cf-access-client-id': t.clientId, 'cf-access-client-secret': s });
  const setOrg = async (strict: boolean) => {
    state.revision++;
    const organization = org(strict);
    h.emit('organizations.v1.changed', { revision: state.revision, occurredAt: new Date().toISOString(), organization });
    state.organizations = [organization];
    await expectEventually(() => expect(gw.replica.organization(token.accountId)?.strictServiceTokenAuth).toBe(strict));
  };

  beforeAll(async () => {
    // lead (publish → sign) 4 s, key refresh every 1 s
    h = await startGatewayHarness(() => state, { env: { GATEHOUSE_KEY_ROTATION_INTERVAL: '16s' } });
    ({ nats } = h);
    upstream = http.createServer((_req, res) => res.end('upstream'));
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    app = appOf({ domain: 'strict.example.com', sessionDuration: '2s', upstream: `http://127.0.0.1:${(upstream.address() as { port: number }).port}` });
    policy = policyOf(app.id, { accountId: token.accountId, include: [{ serviceToken: { tokenId: token.id } }] });
    state = { revision: 5, tokens: [token, notAdmitted], apps: [app], policies: [policy], organizations: [] };
    gw = await startGateway(env(), silent);
    gw2 = await startGateway(env(), silent);
  });
  afterAll(async () => {
    await gw2?.stop();
    await gw?.stop();
    await h?.stop();
    upstream?.closeAllConnections();
    upstream?.close();
  });

  it('without strict mode, an exchange sets the CF_Authorization cookie', async () => {
    const res = await request(gw.url, '/', creds());
    expect(res.status).toBe(200);
    expect(String(res.headers['set-cookie'])).toContain('CF_Authorization=');
  });

  it('in strict mode: no cookie; ambiguous or duplicated credentials refused; 401 vs 403 kept', async () => {
    await setOrg(true);
    const ok = await request(gw.url, '/', creds());
    expect(ok.status).toBe(200);
    expect(ok.headers['set-cookie']).toBeUndefined();
    const fa = await request(gw.url, '/cdn-cgi/access/authorize', { ...creds(), 'x-original-url': 'http://strict.example.com/x' });
    expect(fa.status).toBe(200);
    expect(fa.headers['cf-access-jwt-assertion']).toBeTruthy();
    expect(fa.headers['set-cookie']).toBeUndefined();
    const jwt = String(fa.headers['cf-access-jwt-assertion']);
    // A JWT alone still works.
    await expect(request(gw.url, '/', { 'cf-access-token': jwt })).resolves.toMatchObject({ status: 200 });
    // Service-token headers together with a JWT (header or cookie): refused.
    const both = await request(gw.url, '/', { ...creds(), 'cf-access-token': jwt });
    expect(both.status).toBe(401);
    expect(JSON.parse(both.body)).toEqual({ error: 'unauthorized', reason: 'service_token_with_jwt' });
    const withCookie = await request(gw.url, '/', { ...creds(), cookie: `a=1; CF_Authorization=${jwt}` });
    expect(withCookie.status).toBe(401);
    // Any CF-Access-Client-* header given twice: refused, even when both copies are right.
    const twice = await request(gw.url, '/', { 'cf-access-client-id': [token.clientId, token.clientId], 'cf-access-client-secret': secret });
    expect(twice.status).toBe(401);
    expect(JSON.parse(twice.body).reason).toBe('duplicate_credential_header');
    const extra = await request(gw.url, '/', { ...creds(), 'cf-access-client-whatever': ['a', 'b'] });
    expect(JSON.parse(extra.body).reason).toBe('duplicate_credential_header');
    // Cannot authenticate: 401; authenticated but no policy admits it: 403.
    await expect(request(gw.url, '/', creds(token, generateClientSecret()))).resolves.toMatchObject({ status: 401 });
    await expect(request(gw.url, '/', creds(notAdmitted, outsider))).resolves.toMatchObject({ status: 403 });
    await expect(request(gw.url, '/')).resolves.toMatchObject({ status: 401 });
  });

  it('takes strict mode from the change feed too, and turning it off brings the cookie back', async () => {
    // gw2 gets the event too, and a pull (head poll) from the responder: it follows the state.
    await expectEventually(() => expect(gw2.replica.organization(token.accountId)?.strictServiceTokenAuth).toBe(true), { timeoutMs: 5000 });
    await expect(request(gw2.url, '/', { ...creds(), 'cf-access-token': 'a.b.c' })).resolves.toMatchObject({ status: 401 });
    await setOrg(false);
    const res = await request(gw.url, '/', { ...creds(), 'cf-access-token': 'a.b.c' });
    expect(res.status).toBe(200); // not strict: the service token decides, as before
    expect(String(res.headers['set-cookie'])).toContain('CF_Authorization=');
  });

  it('rotates the signing key over NATS: published at once on every gateway, signing only after, old key kept', async () => {
    const rpc = await connectRpc(nats.url, 'keys-int-test');
    try {
      const before = await rpc.request(GetSigningKeys, {});
      expect(before.keys.filter((k) => k.state === 'active')).toHaveLength(1);
      const oldKid = before.keys.find((k) => k.state === 'active')!.kid;
      await expect(rpc.request(UpdateSigningKeys, { keyRotationIntervalDays: 7, actor: { type: 'admin', id: 't' } })).rejects.toMatchObject({
        code: 'VALIDATION_FAILED',
      });

      const rotated = await rpc.request(RotateSigningKeys, { actor: { type: 'admin', id: 'keys-int-test' } });
      const newKid = rotated.keys[0]!.kid;
      expect(rotated.keys[0]).toMatchObject({ state: 'pending' });
      expect(Date.parse(rotated.keys[0]!.activatesAt) - Date.now()).toBeGreaterThan(gw.keys.refreshMs);
      expect(Date.parse(rotated.lastKeyRotationAt)).toBeGreaterThan(Date.parse(before.lastKeyRotationAt));
      const kidsOf = async (g: RunningGateway) =>
        (JSON.parse((await request(g.url, '/cdn-cgi/access/certs')).body).keys as Array<{ kid: string }>).map((k) => k.kid);

      // Until it is active, new JWTs are signed with the old key; the moment one carries the new
      // kid, every gateway already publishes it.
      let sawNew = false;
      await expectEventually(
        async () => {
          const fa = await request(gw.url, '/cdn-cgi/access/authorize', { ...creds(), 'x-original-url': 'http://strict.example.com/' });
          const kid = decodeProtectedHeader(String(fa.headers['cf-access-jwt-assertion'])).kid;
          if (kid === newKid) {
            expect(await kidsOf(gw2)).toContain(newKid);
            sawNew = true;
          } else expect(kid).toBe(oldKid);
          expect(sawNew).toBe(true);
        },
        { timeoutMs: 15_000, intervalMs: 250 },
      );
      const fa = await request(gw2.url, '/cdn-cgi/access/authorize', { ...creds(), 'x-original-url': 'http://strict.example.com/' });
      const jwt = String(fa.headers['cf-access-jwt-assertion']);
      await expectEventually(() => expect(decodeProtectedHeader(jwt).kid).toBe(newKid));
      const jwks = createRemoteJWKSet(new URL(`${gw2.url}/cdn-cgi/access/certs`));
      await expect(jwtVerify(jwt, jwks, { algorithms: ['RS256'], issuer: 'http://team.test', audience: app.aud })).resolves.toMatchObject({
        protectedHeader: { kid: newKid },
      });
      // The old key stays published for the overlap.
      expect(await kidsOf(gw)).toEqual(expect.arrayContaining([oldKid, newKid]));
      const after = await rpc.request(GetSigningKeys, {});
      expect(after.keys.map((k) => [k.kid, k.state])).toEqual(
        expect.arrayContaining([
          [newKid, 'active'],
          [oldKid, 'previous'],
        ]),
      );

      const updated = await rpc.request(UpdateSigningKeys, { keyRotationIntervalDays: 30, actor: { type: 'admin', id: 'keys-int-test' } });
      expect(updated).toMatchObject({ keyRotationIntervalDays: 30, daysUntilNextRotation: 30 });
    } finally {
      await rpc.close();
    }
    // Waits out the 4 s publish-to-sign lead by design: a budget of its own.
  }, 30_000);
});
