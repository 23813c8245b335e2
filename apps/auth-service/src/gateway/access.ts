import { timingSafeEqual } from 'node:crypto';
import { SecretDigester, policyAdmits } from '@gatehouse/contracts';
import type { Replica, ReplicaApp, ReplicaPolicy, ReplicaToken } from '../replica/replica.js';
import { VERIFIER_BYTES } from '../replica/token-store.js';
import { wellFormedJwt } from './credentials.js';
import { JwtError, type AppClaims, type JwtService } from './jwt.js';
import { Lru } from './lru.js';

export type Via = 'service_token' | 'jwt' | 'forward_auth';

export interface Allowed {
  ok: true;
  app: ReplicaApp;
  token: ReplicaToken;
  jwt: string;
  claims: AppClaims;
  /** True when this request exchanged a secret (so the response sets the cookie). */
  exchanged: boolean;
  policy: ReplicaPolicy;
}
export interface Refused {
  ok: false;
  status: 401 | 403;
  /** Told to the client: it never says whether a client id exists. */
  reason: string;
  /** For the audit log only. */
  detail: string;
  app: ReplicaApp;
  token: ReplicaToken | null;
  clientId: string | null;
  /** The credential itself was wrong (unknown id, wrong secret, bad signature): counts toward rate limits. */
  guess: boolean;
}
export type Decision = Allowed | Refused;
/** A JWT check's outcome: a decision, or (with no application to decide for) a refusal for none. */
export type JwtCheck = Decision | { ok: false; status: 401; reason: string; detail: string; app: null; guess: boolean };

// Compared against when the client id is unknown, so an unknown id costs the same as a wrong secret.
const DUMMY_VERIFIER = Buffer.alloc(VERIFIER_BYTES);

/** A token's verifiers (hex in the replica) as bytes, kept per token view (TokenStore caches its views). */
interface HashBytes {
  hex: string;
  bytes: Buffer;
  previousHex: string | null;
  previous: Buffer | null;
}

/** A cached admission: the first policy admitting the token, as of a replica generation. */
interface Admission {
  generation: number;
  policy: ReplicaPolicy | null;
}

/**
 * Constant-time comparison of a digest's first VERIFIER_BYTES (`prefix`, SecretDigester's HMAC)
 * with a token's verifier. A verifier of any other length (a malformed stored hash: '') matches
 * nothing.
 */
function digestMatches(prefix: Buffer, stored: Buffer): boolean {
  return stored.length === VERIFIER_BYTES && timingSafeEqual(prefix, stored);
}

/** An issued JWT is reused while more than this share of its lifetime remains. */
const REUSE_FRACTION = 0.5;

interface Issued {
  jwt: string;
  claims: AppClaims;
  appUpdatedAt: string;
}

/** Characters of a JWT's end (its signature's) that key the verified-JWT cache. */
const TAIL = 32;

/**
 * JWTs whose signature was verified, with their claims, keyed by their last TAIL characters: a
 * lookup hashes those, not the whole ~900-character JWT (hashing it cost more than the rest of a
 * cached check), and a hit still needs the whole JWT to be equal. Only JWTs that verified are
 * ever stored, so a forged JWT with another's tail finds that one, is unequal, and is verified.
 */
class VerifiedJwts {
  private readonly byTail = new Lru<string, { jwt: string; claims: AppClaims }>(100_000);

  get(jwt: string): AppClaims | undefined {
    const hit = this.byTail.get(jwt.slice(-TAIL));
    return hit !== undefined && hit.jwt === jwt ? hit.claims : undefined;
  }

  set(jwt: string, claims: AppClaims): void {
    this.byTail.set(jwt.slice(-TAIL), { jwt, claims });
  }

  delete(jwt: string): void {
    if (this.get(jwt)) this.byTail.delete(jwt.slice(-TAIL));
  }
}

/**
 * Every access decision: exchange of a service token for an app JWT, and checks of a presented
 * JWT. Hot-path results are reused where it is safe — issued JWTs, verified JWTs, policy
 * decisions — and every reuse re-checks what can change (revocations, token state, replica
 * generation) with map lookups.
 */
export class AccessControl {
  private issued = new Lru<string, Issued>(100_000);
  private verified = new VerifiedJwts();
  /** app id → token id → the admission (keyed by strings the replica keeps: no key is built per request). */
  private admitted = new Map<string, Map<string, Admission>>();
  private admittedCount = 0;
  private readonly hashBytes = new WeakMap<ReplicaToken, HashBytes>();
  private readonly issuedKeys = new WeakMap<ReplicaToken, { app: ReplicaApp; version: number; lifetimeMs: number; key: string }>();
  private readonly digester: SecretDigester;

  constructor(
    private readonly replica: Replica,
    private readonly jwts: JwtService,
    private readonly hashKey: string,
    private readonly keyPublished: (kid: string) => boolean,
    private readonly now: () => number = Date.now,
  ) {
    this.digester = new SecretDigester(hashKey);
    // Any change may alter an admission: the generation check drops old decisions lazily; this
    // only bounds the map.
    replica.onChange(() => {
      if (this.admittedCount > 100_000) {
        this.admitted.clear();
        this.admittedCount = 0;
      }
    });
  }

  /**
   * The decision for a client id and secret presented for `app`. Synchronous when it needs no new
   * JWT (a refusal, or an issued one reused): the gateway's admission then takes no promise
   * (./server.ts `then`). Signing a new one is asynchronous.
   */
  exchange(app: ReplicaApp, clientId: string, secret: string): Decision | Promise<Decision> {
    const now = this.now();
    const token = this.replica.tokenByClientId(clientId);
    // One HMAC, then always two constant-time comparisons, whether or not the id exists.
    const prefix = this.digester.digest(secret).subarray(0, VERIFIER_BYTES);
    const hashes = token ? this.hashesOf(token) : null;
    const current = digestMatches(prefix, hashes?.bytes ?? DUMMY_VERIFIER);
    const inGrace = !!hashes?.previous && token!.previousExpiresAtMs !== null && now < token!.previousExpiresAtMs;
    const previous = digestMatches(prefix, inGrace ? hashes.previous! : DUMMY_VERIFIER) && inGrace;
    if (!token || (!current && !previous))
      return this.refuse(app, 401, 'invalid_credentials', token ? 'wrong_secret' : 'unknown_client_id', token ?? null, clientId, true);
    const state = this.tokenState(token, now);
    if (state) return this.refuse(app, 401, 'invalid_credentials', state, token, clientId);
    const policy = this.admission(app, token);
    if (!policy) return this.refuse(app, this.notAdmittedStatus(app), 'forbidden', 'no_policy_admits', token, clientId);
    const secretVersion = current ? token.clientSecretVersion : token.clientSecretVersion - 1;
    // A reusable policy's own session duration overrides the app's for the JWTs it admits.
    const lifetimeMs = policy.sessionDurationMs ?? app.sessionDurationMs;
    const key = this.issuedKey(token, app, secretVersion, lifetimeMs);
    const cached = this.issued.get(key);
    if (cached && this.reusable(cached, app, now)) {
      return { ok: true, app, token, jwt: cached.jwt, claims: cached.claims, exchanged: true, policy };
    }
    return this.issue(app, token, policy, key, secretVersion, lifetimeMs, now);
  }

  /** Signs a new JWT for an admitted exchange, and keeps it for reuse. */
  private async issue(
    app: ReplicaApp,
    token: ReplicaToken,
    policy: ReplicaPolicy,
    key: string,
    secretVersion: number,
    lifetimeMs: number,
    now: number,
  ): Promise<Allowed> {
    const { jwt, claims } = await this.jwts.issue(app.aud, token.clientId, secretVersion, lifetimeMs, now);
    this.issued.set(key, { jwt, claims, appUpdatedAt: app.updatedAt });
    this.verified.set(jwt, claims);
    return { ok: true, app, token, jwt, claims, exchanged: true, policy };
  }

  /**
   * Checks a presented JWT for `app` (or, when `app` is null, for the application named by its
   * audience: get-identity on a host that is no application). `jwt` may be presentedJwt's
   * unchecked value: one that is not among the verified JWTs must be well formed (wellFormedJwt)
   * before its signature is checked, else it is refused as `malformed_jwt`. Synchronous for a JWT
   * among the verified ones (or malformed); checking a signature is asynchronous.
   */
  checkJwt(app: ReplicaApp | null, jwt: string, resolveByAud?: (aud: string[]) => ReplicaApp | undefined): JwtCheck | Promise<JwtCheck> {
    const now = this.now();
    const claims = this.verified.get(jwt);
    if (claims) return this.judgeJwt(app, jwt, claims, now, resolveByAud);
    if (!wellFormedJwt(jwt)) {
      return app
        ? this.refuse(app, 401, 'invalid_jwt', 'malformed_jwt', null, null, true)
        : { ok: false, status: 401, reason: 'invalid_jwt', detail: 'malformed_jwt', app: null, guess: true };
    }
    return this.verifyThenJudge(app, jwt, now, resolveByAud);
  }

  /** checkJwt for a JWT whose signature is yet to be checked. */
  private async verifyThenJudge(app: ReplicaApp | null, jwt: string, now: number, resolveByAud?: (aud: string[]) => ReplicaApp | undefined): Promise<JwtCheck> {
    let claims: AppClaims;
    try {
      claims = await this.jwts.verify(jwt, now);
    } catch (error) {
      const detail = error instanceof JwtError ? error.reason : 'invalid_jwt';
      const guess = detail !== 'jwt_expired';
      return app
        ? this.refuse(app, 401, 'invalid_jwt', detail, null, null, guess)
        : { ok: false, status: 401, reason: 'invalid_jwt', detail, app: null, guess };
    }
    this.verified.set(jwt, claims);
    return this.judgeJwt(app, jwt, claims, now, resolveByAud);
  }

  /** checkJwt for a JWT whose signature verified: what else it must be, and what its token must be now. */
  private judgeJwt(app: ReplicaApp | null, jwt: string, claims: AppClaims, now: number, resolveByAud?: (aud: string[]) => ReplicaApp | undefined): JwtCheck {
    const target = app ?? resolveByAud?.(claims.aud);
    if (!target) return { ok: false, status: 401, reason: 'invalid_jwt', detail: 'unknown_audience', app: null, guess: false };
    const clientId = claims.commonName;
    const token = this.replica.tokenByClientId(clientId) ?? null;
    if (now >= claims.exp * 1000 || now < claims.nbf * 1000) {
      this.verified.delete(jwt);
      return this.refuse(target, 401, 'invalid_jwt', 'jwt_expired', token, clientId);
    }
    if (!claims.aud.includes(target.aud)) return this.refuse(target, 401, 'invalid_jwt', 'wrong_audience', token, clientId);
    if (target.sessionsRevokedAtMs !== null && claims.iatMs < target.sessionsRevokedAtMs) {
      return this.refuse(target, 401, 'invalid_jwt', 'session_revoked', token, clientId);
    }
    if (!this.keyPublished(claims.kid)) return this.refuse(target, 401, 'invalid_jwt', 'unknown_key', token, clientId);
    if (!token) return this.refuse(target, 401, 'invalid_jwt', 'token_deleted', null, clientId);
    const state = this.tokenState(token, now) ?? this.secretVersionState(token, claims.secretVersion, now);
    if (state) return this.refuse(target, 401, 'invalid_jwt', state, token, clientId);
    const policy = this.admission(target, token);
    if (!policy) return this.refuse(target, this.notAdmittedStatus(target), 'forbidden', 'no_policy_admits', token, clientId);
    return { ok: true, app: target, token, jwt, claims, exchanged: false, policy };
  }

  /**
   * The issued-JWT cache's key for the token, app, secret version and lifetime. The last one is
   * kept per token view: a key string made once has its hash cached, one built per request is
   * hashed each time. A changed app is a new object, so its key is made again (the same text).
   */
  private issuedKey(token: ReplicaToken, app: ReplicaApp, version: number, lifetimeMs: number): string {
    const last = this.issuedKeys.get(token);
    if (last !== undefined && last.app === app && last.version === version && last.lifetimeMs === lifetimeMs) return last.key;
    const key = `${token.id}|${app.id}|${version}|${lifetimeMs}`;
    this.issuedKeys.set(token, { app, version, lifetimeMs, key });
    return key;
  }

  /** The token's verifiers as bytes (converted from hex once per token view and verifier). */
  private hashesOf(token: ReplicaToken): HashBytes {
    let h = this.hashBytes.get(token);
    if (h === undefined || h.hex !== token.secretVerifier || h.previousHex !== token.previousSecretVerifier) {
      const previousHex = token.previousSecretVerifier;
      h = {
        hex: token.secretVerifier,
        bytes: Buffer.from(token.secretVerifier, 'hex'),
        previousHex,
        previous: previousHex ? Buffer.from(previousHex, 'hex') : null,
      };
      this.hashBytes.set(token, h);
    }
    return h;
  }

  /** null when the token may be used now; else why not. */
  private tokenState(token: ReplicaToken, now: number): string | null {
    if (!token.enabled) return 'token_disabled';
    if (token.expiresAtMs !== null && now >= token.expiresAtMs) return 'token_expired';
    return null;
  }

  /**
   * A JWT exchanged with secret version v stays valid while v is the current secret, or the
   * previous one still inside its grace period. Rotation alone does not end sessions; the end of
   * the grace period does.
   */
  private secretVersionState(token: ReplicaToken, version: number | null, now: number): string | null {
    if (version === null || version === token.clientSecretVersion) return null;
    const graceOpen = !!token.previousSecretVerifier && token.previousExpiresAtMs !== null && now < token.previousExpiresAtMs;
    if (version === token.clientSecretVersion - 1 && graceOpen) return null;
    return 'secret_rotated';
  }

  /** A valid token no policy admits: 403, or 401 when the app asks for it (`service_auth_401_redirect`). */
  private notAdmittedStatus(app: ReplicaApp): 401 | 403 {
    return app.serviceAuth401Redirect ? 401 : 403;
  }

  /** The first policy (in precedence order) that admits the token, cached per replica generation. */
  private admission(app: ReplicaApp, token: ReplicaToken): ReplicaPolicy | null {
    let ofApp = this.admitted.get(app.id);
    const hit = ofApp?.get(token.id);
    if (hit && hit.generation === this.replica.generation) return hit.policy;
    let policy: ReplicaPolicy | null = null;
    if (token.accountId === app.accountId) {
      for (const p of this.replica.policiesFor(app.id)) {
        if (p.decision === 'non_identity' && policyAdmits(p, token)) {
          policy = p;
          break;
        }
      }
    }
    if (!ofApp) this.admitted.set(app.id, (ofApp = new Map<string, Admission>()));
    if (!hit) this.admittedCount++;
    ofApp.set(token.id, { generation: this.replica.generation, policy });
    return policy;
  }

  private reusable(c: Issued, app: ReplicaApp, now: number): boolean {
    if (c.appUpdatedAt !== app.updatedAt) return false;
    if (app.sessionsRevokedAtMs !== null && c.claims.iatMs < app.sessionsRevokedAtMs) return false;
    if (!this.keyPublished(c.claims.kid)) return false;
    const lifetime = c.claims.exp * 1000 - c.claims.iatMs;
    return c.claims.exp * 1000 - now > lifetime * REUSE_FRACTION;
  }

  private refuse(
    app: ReplicaApp,
    status: 401 | 403,
    reason: string,
    detail: string,
    token: ReplicaToken | null,
    clientId: string | null,
    guess = false,
  ): Refused {
    return { ok: false, status, reason, detail, app, token, clientId, guess };
  }
}
