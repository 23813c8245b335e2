import { generateKeyPairSync, randomUUID, X509Certificate } from 'node:crypto';
import { generateClientSecret, hashClientSecret, type LinkedPolicy, type VerifierToken } from '@gatehouse/contracts';
import { SignJWT, base64url } from 'jose';
import type { KeyRing } from '../keys/key-ring.js';
import { selfSignedCertificate } from '../keys/x509.js';
import { appOf, loadInto, policyOf, tokenOf } from '../replica/replica.fixture.js';
import { Replica } from '../replica/replica.js';
import { AccessControl, type Allowed, type Decision } from './access.js';
import { JwtService } from './jwt.js';

const HASH_KEY = 'k'.repeat(64);
const ISS = 'https://team.example.com';
const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
const keys = {
  signingKey: () => ({ kid: 'kid1', activatesAt: 0, privateKey: pair.privateKey, publicKey: pair.publicKey, certificatePem: '' }),
  publicKey: (kid: string) => (kid === 'kid1' ? pair.publicKey : undefined),
} as unknown as KeyRing;

function setup() {
  let now = Date.parse('2030-01-01T00:00:00Z');
  const replica = new Replica();
  const access = new AccessControl(
    replica,
    new JwtService(keys, ISS),
    HASH_KEY,
    (kid) => kid === 'kid1',
    () => now,
  );
  const secret = generateClientSecret();
  const token = tokenOf({ secretHash: hashClientSecret(HASH_KEY, secret) });
  const app = appOf();
  const appB = appOf({ domain: 'b.example.com' });
  const policy = policyOf(app.id, { include: [{ serviceToken: { tokenId: token.id } }] });
  const policyB = policyOf(appB.id);
  let revision = 1;
  loadInto(replica, { revision, tokens: [token], apps: [app, appB], policies: [policy, policyB] });
  const setToken = (t: VerifierToken) =>
    replica.applyEvent({
      type: 'token',
      payload: { kind: 'updated', revision: ++revision, occurredAt: new Date(now).toISOString(), actor: { type: 'admin', id: 'x' }, token: t },
    });
  const appOfId = (id: string) => replica.app(id)!;
  return {
    replica,
    access,
    secret,
    token,
    app,
    appB,
    policy,
    setToken,
    appOfId,
    clock: { advance: (ms: number) => (now += ms), now: () => now },
    setApp: (a: typeof app) =>
      replica.applyEvent({ type: 'app', payload: { kind: 'upserted', revision: ++revision, occurredAt: new Date(now).toISOString(), app: a } }),
    setPolicy: (p: typeof policy) =>
      replica.applyEvent({ type: 'policy', payload: { kind: 'upserted', revision: ++revision, occurredAt: new Date(now).toISOString(), policy: p } }),
  };
}

const expectRefused = (d: Decision, status: number, detail?: string) => {
  expect(d.ok).toBe(false);
  if (!d.ok) {
    expect(d.status).toBe(status);
    if (detail) expect(d.detail).toBe(detail);
  }
};

describe('AccessControl: synchronous when nothing is signed or verified (the gateway then takes no promise)', () => {
  it('exchange: a reused JWT and a refusal are values; signing a new one is a promise', async () => {
    const s = setup();
    const app = s.appOfId(s.app.id);
    const first = s.access.exchange(app, s.token.clientId, s.secret);
    expect(first).toBeInstanceOf(Promise);
    const issued = await first;
    expect(issued.ok).toBe(true);
    const again = s.access.exchange(app, s.token.clientId, s.secret);
    expect(again).not.toBeInstanceOf(Promise);
    expect((again as Decision).ok && (again as Allowed).jwt).toBe(issued.ok && issued.jwt);
    const wrong = s.access.exchange(app, s.token.clientId, generateClientSecret());
    expect(wrong).not.toBeInstanceOf(Promise);
    expectRefused(wrong as Decision, 401, 'wrong_secret');
  });

  it('checkJwt: a verified JWT and a malformed one are values; checking a signature is a promise', async () => {
    const s = setup();
    const app = s.appOfId(s.app.id);
    const d = await s.access.exchange(app, s.token.clientId, s.secret);
    if (!d.ok) throw new Error('not admitted');
    const known = s.access.checkJwt(app, d.jwt);
    expect(known).not.toBeInstanceOf(Promise);
    expect((known as Decision).ok).toBe(true);
    const malformed = s.access.checkJwt(app, 'not a jwt');
    expect(malformed).not.toBeInstanceOf(Promise);
    expectRefused(malformed as Decision, 401, 'malformed_jwt');
    // Another gateway (its own caches) has not verified it yet.
    const elsewhere = setup().access.checkJwt(app, d.jwt);
    expect(elsewhere).toBeInstanceOf(Promise);
    await elsewhere;
  });
});

describe('AccessControl.exchange', () => {
  it('compares the first 16 bytes of the HMAC (what the replica keeps), and a malformed stored hash matches no secret', async () => {
    const s = setup();
    const full = hashClientSecret(HASH_KEY, s.secret);
    const flip = (hex: string, at: number) => hex.slice(0, at) + (hex[at] === '0' ? '1' : '0') + hex.slice(at + 1);
    // A stored hash differing in its first 16 bytes refuses the secret; one differing only after them is never seen.
    s.setToken({ ...s.token, secretHash: flip(full, 31) });
    expectRefused(await s.access.exchange(s.appOfId(s.app.id), s.token.clientId, s.secret), 401, 'wrong_secret');
    s.setToken({ ...s.token, secretHash: flip(full, 32) });
    expect((await s.access.exchange(s.appOfId(s.app.id), s.token.clientId, s.secret)).ok).toBe(true);
    for (const bad of [full.slice(0, 32), `${full.slice(0, 63)}g`, '']) {
      s.setToken({ ...s.token, secretHash: bad });
      expectRefused(await s.access.exchange(s.appOfId(s.app.id), s.token.clientId, s.secret), 401, 'wrong_secret');
    }
  });

  it('admits a named token and issues a Cloudflare-shaped RS256 JWT, reused on the next exchange', async () => {
    const s = setup();
    const d = await s.access.exchange(s.appOfId(s.app.id), s.token.clientId, s.secret);
    expect(d.ok).toBe(true);
    if (!d.ok) return;
    const [h, p] = d.jwt
      .split('.')
      .slice(0, 2)
      .map((x) => JSON.parse(Buffer.from(x, 'base64url').toString()));
    expect(h).toMatchObject({ alg: 'RS256', kid: 'kid1' });
    expect(p).toMatchObject({ type: 'app', aud: [s.app.aud], iss: ISS, common_name: s.token.clientId, sub: '' });
    expect(p.exp - p.iat).toBe(24 * 3600);
    expect(typeof p.jti).toBe('string');
    const again = await s.access.exchange(s.appOfId(s.app.id), s.token.clientId, s.secret);
    expect(again.ok && again.jwt).toBe(d.jwt);
  });

  it('answers unknown ids and wrong secrets alike, and refuses other tokens secrets', async () => {
    const s = setup();
    const app = s.appOfId(s.app.id);
    const unknown = await s.access.exchange(app, 'f'.repeat(32) + '.access', s.secret);
    const wrong = await s.access.exchange(app, s.token.clientId, generateClientSecret());
    expectRefused(unknown, 401);
    expectRefused(wrong, 401);
    expect(!unknown.ok && unknown.reason).toBe(!wrong.ok && wrong.reason);
  });

  it('refuses disabled and expired tokens, and a token no policy admits (403)', async () => {
    const s = setup();
    s.setToken({ ...s.token, enabled: false });
    expectRefused(await s.access.exchange(s.appOfId(s.app.id), s.token.clientId, s.secret), 401, 'token_disabled');
    s.setToken({ ...s.token, enabled: true, expiresAt: new Date(s.clock.now() - 1).toISOString() });
    expectRefused(await s.access.exchange(s.appOfId(s.app.id), s.token.clientId, s.secret), 401, 'token_expired');
    s.setToken({ ...s.token });
    s.setPolicy({ ...s.policy, include: [{ serviceToken: { tokenId: randomUUID() } }] });
    expectRefused(await s.access.exchange(s.appOfId(s.app.id), s.token.clientId, s.secret), 403, 'no_policy_admits');
  });

  it('accepts the previous secret only inside its grace period', async () => {
    const s = setup();
    const next = generateClientSecret();
    const rotated = {
      ...s.token,
      secretHash: hashClientSecret(HASH_KEY, next),
      clientSecretVersion: 2,
      previousSecretHash: s.token.secretHash,
      previousClientSecretExpiresAt: new Date(s.clock.now() + 60_000).toISOString(),
    };
    s.setToken(rotated);
    const app = s.appOfId(s.app.id);
    // Each secret gets a JWT of its own version, however the exchanges alternate (a JWT of the
    // previous secret ends with its grace period; one of the new secret does not).
    const versions: Array<number | null> = [];
    const jwts = new Map<number | null, string>();
    for (const secret of [s.secret, next, s.secret, next, next, s.secret]) {
      const d = await s.access.exchange(app, s.token.clientId, secret);
      if (!d.ok) throw new Error(`refused: ${d.detail}`);
      versions.push(d.claims.secretVersion);
      expect(jwts.get(d.claims.secretVersion) ?? d.jwt).toBe(d.jwt);
      jwts.set(d.claims.secretVersion, d.jwt);
    }
    expect(versions).toEqual([1, 2, 1, 2, 2, 1]);
    s.clock.advance(60_001);
    expectRefused(await s.access.exchange(app, s.token.clientId, s.secret), 401);
  });
});

describe('policy evaluation', () => {
  it('include any, require all, exclude none; empty include and other accounts admit nobody', async () => {
    const s = setup();
    const app = () => s.appOfId(s.app.id);
    const mine = { serviceToken: { tokenId: s.token.id } };
    const someone = { serviceToken: { tokenId: randomUUID() } };
    const cases: Array<[Partial<typeof s.policy>, boolean]> = [
      [{ include: [someone, mine] }, true],
      [{ include: [{ anyValidServiceToken: {} }] }, true],
      [{ include: [{ anyValidServiceToken: {} }], require: [mine] }, true],
      [{ include: [{ anyValidServiceToken: {} }], require: [someone] }, false],
      [{ include: [{ anyValidServiceToken: {} }], exclude: [mine] }, false],
      [{ include: [{ anyValidServiceToken: {} }], exclude: [someone] }, true],
      [{ include: [] }, false],
      [{ include: [someone] }, false],
      [{ include: [{ anyValidServiceToken: {} }], accountId: randomUUID() }, false],
    ];
    for (const [over, admitted] of cases) {
      s.setPolicy({ ...s.policy, ...over });
      const d = await s.access.exchange(app(), s.token.clientId, s.secret);
      expect([JSON.stringify(over), d.ok]).toEqual([JSON.stringify(over), admitted]);
    }
  });

  it('uses any admitting policy of the app, in precedence order', async () => {
    const s = setup();
    s.setPolicy({ ...s.policy, include: [] });
    const second = policyOf(s.app.id, { precedence: 5, name: 'second' });
    s.setPolicy(second);
    const d = await s.access.exchange(s.appOfId(s.app.id), s.token.clientId, s.secret);
    expect(d.ok && d.policy.name).toBe('second');
  });

  it('evaluates linked reusable policies like app-scoped ones, with the change an app event carries', async () => {
    const s = setup();
    const linked = (over: Partial<LinkedPolicy> = {}): LinkedPolicy => ({
      id: randomUUID(),
      name: 'reusable',
      decision: 'non_identity',
      precedence: 1,
      include: [{ serviceToken: { tokenId: s.token.id } }],
      require: [],
      exclude: [],
      sessionDuration: null,
      createdAt: new Date(s.clock.now()).toISOString(),
      updatedAt: new Date(s.clock.now()).toISOString(),
      ...over,
    });
    const app = appOf({ domain: 'linked.example.com', sessionDuration: '24h', linkedPolicies: [linked({ sessionDuration: '30m' })] });
    s.setApp(app);
    const d = await s.access.exchange(s.appOfId(app.id), s.token.clientId, s.secret);
    expect(d.ok && d.policy.name).toBe('reusable');
    // The reusable policy's session duration overrides the app's.
    expect(d.ok && d.claims.exp - d.claims.iat).toBe(30 * 60);
    // The policy now excludes the token: the app event carrying the change refuses it at once.
    s.setApp({ ...app, linkedPolicies: [linked({ id: app.linkedPolicies[0]!.id, exclude: [{ serviceToken: { tokenId: s.token.id } }] })] });
    expectRefused(await s.access.exchange(s.appOfId(app.id), s.token.clientId, s.secret), 403, 'no_policy_admits');
    // Unlinked: nobody is admitted.
    s.setApp({ ...app, linkedPolicies: [] });
    expectRefused(await s.access.exchange(s.appOfId(app.id), s.token.clientId, s.secret), 403, 'no_policy_admits');
  });

  it('answers 401 instead of 403 for a valid token no policy admits when service_auth_401_redirect is set', async () => {
    const s = setup();
    s.setPolicy({ ...s.policy, include: [{ serviceToken: { tokenId: randomUUID() } }] });
    s.setApp({ ...s.app, serviceAuth401Redirect: true });
    expectRefused(await s.access.exchange(s.appOfId(s.app.id), s.token.clientId, s.secret), 401, 'no_policy_admits');
  });
});

describe('AccessControl.checkJwt', () => {
  async function issued(s: ReturnType<typeof setup>) {
    const d = await s.access.exchange(s.appOfId(s.app.id), s.token.clientId, s.secret);
    if (!d.ok) throw new Error('exchange failed');
    return d.jwt;
  }

  it('accepts its own JWT and refuses it for another app (wrong aud)', async () => {
    const s = setup();
    const jwt = await issued(s);
    expect((await s.access.checkJwt(s.appOfId(s.app.id), jwt)).ok).toBe(true);
    expectRefused((await s.access.checkJwt(s.appOfId(s.appB.id), jwt)) as Decision, 401, 'wrong_audience');
  });

  it('refuses alg none, HS256 with the public key, unknown kid, tampered payload and expiry', async () => {
    const s = setup();
    const app = s.appOfId(s.app.id);
    const jwt = await issued(s);
    const [h, p, sig] = jwt.split('.');
    const payload = JSON.parse(Buffer.from(p!, 'base64url').toString());
    const enc = (o: unknown) => base64url.encode(JSON.stringify(o));
    const none = `${enc({ alg: 'none', kid: 'kid1' })}.${p}.`;
    const pem = pair.publicKey.export({ type: 'spki', format: 'pem' }) as string;
    const hs = await new SignJWT(payload).setProtectedHeader({ alg: 'HS256', kid: 'kid1' }).sign(new TextEncoder().encode(pem));
    const unknownKid = await new SignJWT(payload).setProtectedHeader({ alg: 'RS256', kid: 'other' }).sign(other.privateKey);
    const wrongKey = await new SignJWT(payload).setProtectedHeader({ alg: 'RS256', kid: 'kid1' }).sign(other.privateKey);
    const tampered = `${h}.${enc({ ...payload, common_name: 'someone-else' })}.${sig}`;
    for (const bad of [none, hs, unknownKid, wrongKey, tampered, 'a.b.c']) {
      expectRefused((await s.access.checkJwt(app, bad)) as Decision, 401);
    }
    // `tampered` ends like the genuine JWT (the same signature), which stays verified and admitted.
    expect(tampered.slice(-32)).toBe(jwt.slice(-32));
    expectRefused((await s.access.checkJwt(app, tampered)) as Decision, 401, 'invalid_jwt');
    expect((await s.access.checkJwt(app, jwt)).ok).toBe(true);
    s.clock.advance(24 * 3600 * 1000 + 1000);
    expectRefused((await s.access.checkJwt(app, jwt)) as Decision, 401, 'jwt_expired');
  });

  it('refuses a value that is no JWT as malformed (a guess), whatever its end, without checking a signature', async () => {
    const s = setup();
    const app = s.appOfId(s.app.id);
    let verified = 0;
    const jwts = new JwtService(keys, ISS);
    const verify = jwts.verify.bind(jwts);
    jwts.verify = (jwt, nowMs) => (verified++, verify(jwt, nowMs));
    const access = new AccessControl(s.replica, jwts, HASH_KEY, (kid) => kid === 'kid1', s.clock.now);
    const d = await access.exchange(app, s.token.clientId, s.secret);
    if (!d.ok) throw new Error('exchange failed');
    for (const bad of ['', 'not a jwt', `x ${d.jwt}`, `${d.jwt}.x`, `a.${'b'.repeat(9000)}.c`, `${'a'.repeat(8200)}.${d.jwt}`]) {
      const refused = (await access.checkJwt(app, bad)) as Decision;
      expectRefused(refused, 401, 'malformed_jwt');
      expect(!refused.ok && refused.guess).toBe(true);
    }
    expect((await access.checkJwt(null, 'not a jwt', () => app)) as { ok: boolean; detail: string }).toMatchObject({ ok: false, detail: 'malformed_jwt' });
    expect(verified).toBe(0);
    expect((await access.checkJwt(app, d.jwt)).ok).toBe(true);
    expect(verified).toBe(0); // issued here, so already known as verified
    expect((await s.access.checkJwt(app, d.jwt)).ok).toBe(true); // another gateway verifies it
  });

  it('refuses a not-yet-valid JWT', async () => {
    const s = setup();
    const payload = { type: 'app', common_name: s.token.clientId, sub: '' };
    const t = Math.floor(s.clock.now() / 1000);
    const future = await new SignJWT(payload)
      .setProtectedHeader({ alg: 'RS256', kid: 'kid1' })
      .setIssuer(ISS)
      .setAudience([s.app.aud])
      .setIssuedAt(t)
      .setNotBefore(t + 600)
      .setExpirationTime(t + 3600)
      .sign(pair.privateKey);
    expectRefused((await s.access.checkJwt(s.appOfId(s.app.id), future)) as Decision, 401);
  });

  it('refuses JWTs after revoke-sessions, deletion, disabling, and rotation once the grace ends', async () => {
    const s = setup();
    const jwt = await issued(s);
    const app = () => s.appOfId(s.app.id);
    // Revoke sessions: the old JWT dies; a new exchange yields a fresh, working JWT.
    s.clock.advance(10);
    s.setApp({ ...s.app, sessionsRevokedAt: new Date(s.clock.now()).toISOString(), updatedAt: new Date(s.clock.now()).toISOString() });
    expectRefused((await s.access.checkJwt(app(), jwt)) as Decision, 401, 'session_revoked');
    s.clock.advance(10);
    const fresh = await issued(s);
    expect(fresh).not.toBe(jwt);
    expect((await s.access.checkJwt(app(), fresh)).ok).toBe(true);
    // Rotation with a grace period keeps the session; the end of the grace ends it.
    s.setToken({
      ...s.token,
      clientSecretVersion: 2,
      secretHash: 'b'.repeat(64),
      previousSecretHash: s.token.secretHash,
      previousClientSecretExpiresAt: new Date(s.clock.now() + 1000).toISOString(),
    });
    expect((await s.access.checkJwt(app(), fresh)).ok).toBe(true);
    s.clock.advance(1001);
    expectRefused((await s.access.checkJwt(app(), fresh)) as Decision, 401, 'secret_rotated');
    // Disabled, then deleted.
    const s2 = setup();
    const jwt2 = await issued(s2);
    s2.setToken({ ...s2.token, enabled: false });
    expectRefused((await s2.access.checkJwt(s2.appOfId(s2.app.id), jwt2)) as Decision, 401, 'token_disabled');
    s2.replica.applyEvent({
      type: 'token',
      payload: { kind: 'deleted', revision: s2.replica.revision + 1, occurredAt: new Date().toISOString(), actor: { type: 'admin', id: 'x' }, token: s2.token },
    });
    expectRefused((await s2.access.checkJwt(s2.appOfId(s2.app.id), jwt2)) as Decision, 401, 'token_deleted');
  });
});

describe('self-signed certificate', () => {
  it('is a valid X.509 certificate of the signing key', async () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = await selfSignedCertificate(pair.privateKey, pair.publicKey, 'team.example.com', new Date('2030-01-01'), new Date('2060-01-01'));
    const cert = new X509Certificate(pem);
    expect(cert.verify(pair.publicKey)).toBe(true);
    expect(cert.verify(other.publicKey)).toBe(false);
    expect(cert.subject).toBe('CN=team.example.com');
    expect(cert.issuer).toBe('CN=team.example.com');
    expect(cert.publicKey.export({ type: 'spki', format: 'pem' })).toBe(pair.publicKey.export({ type: 'spki', format: 'pem' }));
    expect(new Date(cert.validFrom).toISOString()).toBe('2030-01-01T00:00:00.000Z');
    expect(new Date(cert.validTo).toISOString()).toBe('2060-01-01T00:00:00.000Z'); // past 2049: GeneralizedTime
  });
});
