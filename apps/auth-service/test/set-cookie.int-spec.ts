import { generateKeyPairSync } from 'node:crypto';
import http from 'node:http';
import { generateClientSecret, hashClientSecret, type Application, type VerifierToken } from '@gatehouse/contracts';
import { AccessControl } from '../src/gateway/access.js';
import { JwtService } from '../src/gateway/jwt.js';
import { Gateway } from '../src/gateway/server.js';
import type { KeyRing } from '../src/keys/key-ring.js';
import { appOf, loadInto, policyOf, tokenOf } from '../src/replica/replica.fixture.js';
import { Replica } from '../src/replica/replica.js';
import { plainGatewayDeps } from './fast-front-harness.js';
import { onCleanup, runCleanups, startHttpUpstreamServer } from './proxy-harness.js';

/*
 * The CF_Authorization cookie set on every exchange of a service token, on both fronts, as the
 * clock moves and the app and token change: the gateway reuses the cookie text it built for the
 * same JWT, app and second, and nothing else.
 */

const HASH_KEY = 'c'.repeat(64);
const HOST = 'app.example.com';
const T0 = Date.parse('2026-06-01T12:00:00.250Z');

describe('Set-Cookie after a service-token exchange (reused text, same semantics)', () => {
  afterEach(runCleanups);

  async function setUp() {
    const { port: upstreamPort } = await startHttpUpstreamServer((_req, res) => res.end('ok'));
    const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const keys = {
      signingKey: () => ({ kid: 'kid1', activatesAt: 0, privateKey: pair.privateKey, publicKey: pair.publicKey, certificatePem: '' }),
      publicKey: (kid: string) => (kid === 'kid1' ? pair.publicKey : undefined),
    } as unknown as KeyRing;
    let now = T0;
    const clock = () => now;
    const secret = generateClientSecret();
    let token: VerifierToken = tokenOf({ secretHash: hashClientSecret(HASH_KEY, secret) });
    let app: Application = appOf({ domain: HOST, upstream: `http://127.0.0.1:${upstreamPort}`, sessionDuration: '1h' });
    const replica = new Replica();
    let revision = 1;
    loadInto(replica, { revision, tokens: [token], apps: [app], policies: [policyOf(app.id, { include: [{ serviceToken: { tokenId: token.id } }] })] });
    const access = new AccessControl(replica, new JwtService(keys, 'https://team.example.com'), HASH_KEY, (kid) => kid === 'kid1', clock);
    const start = async (fastFront: boolean) => {
      const gateway = new Gateway({
        replica,
        access,
        ...plainGatewayDeps(),
        now: clock,
        fastFront,
      });
      const port = await gateway.listen(0, '127.0.0.1');
      onCleanup(() => gateway.close());
      return port;
    };
    const ports = [await start(true), await start(false)];
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    onCleanup(() => agent.destroy());
    /** The Set-Cookie of one request with the token's headers, on each front (they must agree). */
    const cookie = async (s = secret): Promise<string | undefined> => {
      // One after the other: both fronts share the AccessControl, so the second reuses the JWT.
      const seen: Array<{ status: number; cookie: string | undefined }> = [];
      for (const port of ports) {
        seen.push(
          await new Promise((resolve, reject) => {
            const headers = { host: HOST, 'cf-access-client-id': token.clientId, 'cf-access-client-secret': s };
            const req = http.get({ port, host: '127.0.0.1', path: '/', agent, headers }, (res) => {
              res.resume();
              res.on('end', () => resolve({ status: res.statusCode!, cookie: res.headers['set-cookie']?.[0] }));
            });
            req.on('error', reject);
          }),
        );
      }
      expect(seen[1]).toEqual(seen[0]);
      return seen[0]!.status === 200 ? seen[0]!.cookie : `refused ${seen[0]!.status}`;
    };
    const change = (records: { app?: Application; token?: VerifierToken }) => {
      revision++;
      if (records.app) app = records.app;
      if (records.token) token = records.token;
      replica.apply([
        ...(records.app ? [{ type: 'app' as const, revision, app: records.app }] : []),
        ...(records.token ? [{ type: 'token' as const, revision, token: records.token }] : []),
      ]);
    };
    return {
      cookie,
      change,
      secret,
      at: (ms: number) => void (now = T0 + ms),
      app: () => app,
      token: () => token,
    };
  }

  const jwtOf = (cookie: string | undefined) => /^CF_Authorization=([^;]+);/.exec(cookie ?? '')?.[1];
  const maxAgeOf = (cookie: string | undefined) => Number(/; Max-Age=(\d+);/.exec(cookie ?? '')?.[1]);

  it('counts Max-Age down by the second for the same JWT, and carries a new JWT once one is issued', async () => {
    const s = await setUp();
    const first = await s.cookie();
    expect(first).toMatch(/^CF_Authorization=ey[^;]+; Max-Age=3600; Path=\/; HttpOnly; SameSite=Lax$/);
    expect(await s.cookie()).toBe(first);
    s.at(700); // still the same second (T0 is at .250)
    expect(await s.cookie()).toBe(first);
    s.at(750); // the next second begins at +750 ms
    const next = await s.cookie();
    expect(jwtOf(next)).toBe(jwtOf(first));
    expect(maxAgeOf(next)).toBe(3599);
    s.at(1_700);
    expect(await s.cookie()).toBe(next);
    s.at(1_750);
    const later = await s.cookie();
    expect(jwtOf(later)).toBe(jwtOf(first));
    expect(maxAgeOf(later)).toBe(3598);
    s.at(600_000);
    expect(maxAgeOf(await s.cookie())).toBe(3000);
    // Past half its lifetime the JWT is no longer reused: a new one, with its own full Max-Age.
    s.at(1_800_500);
    const renewed = await s.cookie();
    expect(jwtOf(renewed)).not.toBe(jwtOf(first));
    expect(maxAgeOf(renewed)).toBe(3600);
    // …and that one is reused in turn, counting down.
    s.at(1_801_500);
    const renewedLater = await s.cookie();
    expect(jwtOf(renewedLater)).toBe(jwtOf(renewed));
    expect(maxAgeOf(renewedLater)).toBe(3599);
  });

  it("follows the app's cookie attributes as soon as the app changes, within the same second", async () => {
    const s = await setUp();
    const first = await s.cookie();
    s.change({ app: { ...s.app(), sameSiteCookieAttribute: 'none', httpOnlyCookieAttribute: false, updatedAt: new Date(T0 + 1).toISOString() } });
    const changed = await s.cookie();
    expect(changed).toMatch(/^CF_Authorization=ey[^;]+; Max-Age=3600; Path=\/; SameSite=None; Secure$/);
    expect(jwtOf(changed)).not.toBe(jwtOf(first));
    // A change of the app's attributes alone (same updatedAt) still changes the cookie.
    s.change({ app: { ...s.app(), sameSiteCookieAttribute: 'strict' } });
    expect(await s.cookie()).toMatch(/; Path=\/; SameSite=Strict$/);
  });

  it('issues a cookie with a new JWT after sessions are revoked and after rotation, and none once the token is refused', async () => {
    const s = await setUp();
    s.at(2_000);
    const first = await s.cookie();
    s.change({ app: { ...s.app(), sessionsRevokedAt: new Date(T0 + 2_500).toISOString() } });
    s.at(3_000);
    const afterRevoke = await s.cookie();
    expect(jwtOf(afterRevoke)).not.toBe(jwtOf(first));
    // Rotation: the new secret gets a JWT of the new secret version; the old one, in its grace
    // period, keeps its own.
    const next = generateClientSecret();
    s.change({
      token: {
        ...s.token(),
        secretHash: hashClientSecret(HASH_KEY, next),
        clientSecretVersion: 2,
        previousSecretHash: s.token().secretHash,
        previousClientSecretExpiresAt: new Date(T0 + 60_000).toISOString(),
      },
    });
    const rotated = await s.cookie(next);
    expect(jwtOf(rotated)).not.toBe(jwtOf(afterRevoke));
    expect(jwtOf(await s.cookie(s.secret))).not.toBe(jwtOf(rotated));
    s.at(61_000); // the grace period is over
    expect(await s.cookie(s.secret)).toBe('refused 401');
    expect(jwtOf(await s.cookie(next))).toBe(jwtOf(rotated));
    s.change({ token: { ...s.token(), enabled: false } });
    expect(await s.cookie(next)).toBe('refused 401');
  });
});
