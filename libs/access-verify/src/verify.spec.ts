import { generateKeyPairSync } from 'node:crypto';
import { SignJWT, createLocalJWKSet, type JWK } from 'jose';
import { accessMiddleware, accessPreHandler, assertionOf, createAccessVerifier, type AccessIdentity } from './index.js';

const ISS = 'https://team.example.com';
const AUD = 'a'.repeat(64);
const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...(pair.publicKey.export({ format: 'jwk' }) as JWK), kid: 'k1', alg: 'RS256', use: 'sig' };
const keys = createLocalJWKSet({ keys: [jwk] });
const now = () => Math.floor(Date.now() / 1000);
const sign = (over: { aud?: string; iss?: string; exp?: number; alg?: string; key?: unknown } = {}) =>
  new SignJWT({ type: 'app', common_name: 'abc.access' })
    .setProtectedHeader({ alg: over.alg ?? 'RS256', kid: 'k1' })
    .setAudience([over.aud ?? AUD])
    .setIssuer(over.iss ?? ISS)
    .setIssuedAt()
    .setExpirationTime(over.exp ?? now() + 60)
    .sign((over.key as never) ?? pair.privateKey);

describe('createAccessVerifier', () => {
  const v = createAccessVerifier({ teamUrl: ISS + '/', audience: AUD, keys });

  it('accepts a valid assertion and returns the identity', async () => {
    await expect(v.verify(await sign())).resolves.toMatchObject({ type: 'app', commonName: 'abc.access', audience: [AUD], issuer: ISS });
  });

  it('refuses wrong audience, issuer, expiry, HS256 and missing tokens', async () => {
    await expect(v.verify(await sign({ aud: 'b'.repeat(64) }))).rejects.toMatchObject({ reason: 'invalid_assertion' });
    await expect(v.verify(await sign({ iss: 'https://evil.example.com' }))).rejects.toMatchObject({ reason: 'invalid_assertion' });
    await expect(v.verify(await sign({ exp: now() - 10 }))).rejects.toMatchObject({ reason: 'expired_assertion' });
    const pem = pair.publicKey.export({ type: 'spki', format: 'pem' }) as string;
    await expect(v.verify(await sign({ alg: 'HS256', key: new TextEncoder().encode(pem) }))).rejects.toMatchObject({ reason: 'invalid_assertion' });
    await expect(v.verify(null)).rejects.toMatchObject({ reason: 'missing_assertion' });
  });

  it('reads the header, and the cookie only when asked', () => {
    expect(assertionOf({ 'cf-access-jwt-assertion': 'x.y.z' })).toBe('x.y.z');
    expect(assertionOf({ cookie: 'a=1; CF_Authorization=x.y.z' })).toBeNull();
    expect(assertionOf({ cookie: 'a=1; CF_Authorization=x.y.z' }, true)).toBe('x.y.z');
  });
});

describe('framework adapters', () => {
  it('Express middleware calls next with the identity, or answers 401', async () => {
    const mw = accessMiddleware({ teamUrl: ISS, audience: AUD, keys });
    const req: { headers: Record<string, string>; accessIdentity?: AccessIdentity } = { headers: { 'cf-access-jwt-assertion': await sign() } };
    await new Promise<void>((resolve) => mw(req, { statusCode: 200, setHeader: () => undefined, end: () => undefined }, () => resolve()));
    expect(req.accessIdentity).toMatchObject({ commonName: 'abc.access' });
    const res = {
      statusCode: 200,
      body: '',
      setHeader: () => undefined,
      end(b?: string) {
        this.body = b ?? '';
      },
    };
    await new Promise<void>((resolve) => {
      res.end = function (b?: string) {
        this.body = b ?? '';
        resolve();
      };
      mw({ headers: {} }, res, () => resolve());
    });
    expect(res.statusCode).toBe(401);
    expect(JSON.parse(res.body)).toEqual({ error: 'unauthorized', reason: 'missing_assertion' });
  });

  it('Fastify preHandler replies 401 on a bad assertion', async () => {
    const hook = accessPreHandler({ teamUrl: ISS, audience: AUD, keys });
    const sent: unknown[] = [];
    const reply = {
      status: 0,
      code(s: number) {
        this.status = s;
        return this;
      },
      header() {
        return this;
      },
      send(b: unknown) {
        sent.push(b);
      },
    };
    await hook({ headers: { 'cf-access-jwt-assertion': 'a.b.c' } }, reply);
    expect(reply.status).toBe(401);
    expect(sent).toHaveLength(1);
  });
});
