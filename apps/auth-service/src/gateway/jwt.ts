import { randomUUID } from 'node:crypto';
import { SignJWT, jwtVerify, errors, type JWTHeaderParameters, type JWTPayload } from 'jose';
import type { KeyRing } from '../keys/key-ring.js';

/** The claims the gateway issues (Cloudflare's service-token shape plus two of ours). */
export interface AppClaims {
  kid: string;
  aud: string[];
  commonName: string;
  iat: number;
  nbf: number;
  exp: number;
  jti: string;
  /** Which secret version was exchanged for this JWT (ours: lets rotation end it after the grace). */
  secretVersion: number | null;
  /** iat in milliseconds (ours: "revoke sessions" compares at millisecond precision). */
  iatMs: number;
}

export class JwtError extends Error {
  constructor(readonly reason: 'invalid_jwt' | 'jwt_expired' | 'unknown_key') {
    super(reason);
  }
}

/**
 * RS256 JWTs for applications. Signing uses the key ring's current key; verification pins the
 * algorithm to RS256, requires a `kid` the ring publishes, and checks `iss` — never trusting
 * anything in the header beyond choosing among our own keys.
 */
export class JwtService {
  constructor(
    private readonly keys: KeyRing,
    private readonly issuer: string,
  ) {}

  async issue(aud: string, commonName: string, secretVersion: number, lifetimeMs: number, nowMs: number): Promise<{ jwt: string; claims: AppClaims }> {
    const key = this.keys.signingKey();
    const iat = Math.floor(nowMs / 1000);
    const exp = Math.floor((nowMs + lifetimeMs) / 1000);
    const jti = randomUUID();
    const jwt = await new SignJWT({ type: 'app', common_name: commonName, sub: '', secret_version: secretVersion, iat_ms: nowMs })
      .setProtectedHeader({ alg: 'RS256', kid: key.kid, typ: 'JWT' })
      .setAudience([aud])
      .setIssuer(this.issuer)
      .setIssuedAt(iat)
      .setNotBefore(iat)
      .setExpirationTime(exp)
      .setJti(jti)
      .sign(key.privateKey);
    return { jwt, claims: { kid: key.kid, aud: [aud], commonName, iat, nbf: iat, exp, jti, secretVersion, iatMs: nowMs } };
  }

  /** Signature, algorithm, kid, issuer and time checks. Audience and revocation are the caller's. */
  async verify(jwt: string, nowMs: number): Promise<AppClaims> {
    let payload: JWTPayload;
    let header: JWTHeaderParameters;
    try {
      ({ payload, protectedHeader: header } = await jwtVerify(
        jwt,
        (h) => {
          const key = h.kid ? this.keys.publicKey(h.kid) : undefined;
          if (!key) throw new JwtError('unknown_key');
          return key;
        },
        { algorithms: ['RS256'], issuer: this.issuer, currentDate: new Date(nowMs), requiredClaims: ['exp', 'iat', 'nbf', 'aud'] },
      ));
    } catch (error) {
      if (error instanceof JwtError) throw error;
      if (error instanceof errors.JWTExpired) throw new JwtError('jwt_expired');
      if (error instanceof errors.JWTClaimValidationFailed && error.claim === 'nbf') throw new JwtError('jwt_expired');
      throw new JwtError('invalid_jwt');
    }
    if (payload.type !== 'app' || typeof payload.common_name !== 'string') throw new JwtError('invalid_jwt');
    const aud = Array.isArray(payload.aud) ? payload.aud : payload.aud ? [payload.aud] : [];
    const iat = payload.iat!;
    return {
      kid: header.kid!,
      aud,
      commonName: payload.common_name,
      iat,
      nbf: payload.nbf!,
      exp: payload.exp!,
      jti: typeof payload.jti === 'string' ? payload.jti : '',
      secretVersion: typeof payload.secret_version === 'number' ? payload.secret_version : null,
      iatMs: typeof payload.iat_ms === 'number' && Math.floor(payload.iat_ms / 1000) === iat ? payload.iat_ms : iat * 1000,
    };
  }
}
