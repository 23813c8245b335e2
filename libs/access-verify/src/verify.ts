import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';

export interface AccessVerifyOptions {
  /** The gateway's team URL: the expected `iss`, and `<teamUrl>/cdn-cgi/access/certs` for the keys. */
  teamUrl: string;
  /** The application's audience tag(s) (`aud` of the access app). */
  audience: string | string[];
  /** Where to fetch the JWKS, when it is not `<teamUrl>/cdn-cgi/access/certs` (e.g. an internal address). */
  certsUrl?: string;
  /** Seconds of clock skew tolerated for exp/nbf (default 0). */
  clockToleranceSec?: number;
  /** Also accept the CF_Authorization cookie when the header is missing (default false). */
  acceptCookie?: boolean;
  /** A key source for tests; defaults to the remote JWKS (cached, refetched on an unknown kid). */
  keys?: JWTVerifyGetKey;
}

/** Who the gateway admitted: a service token (`common_name` is its client id) for one application. */
export interface AccessIdentity {
  type: string;
  commonName: string;
  audience: string[];
  issuer: string;
  issuedAt: number;
  expiresAt: number;
  claims: JWTPayload;
}

export class AccessDenied extends Error {
  readonly status = 401;
  constructor(readonly reason: 'missing_assertion' | 'invalid_assertion' | 'expired_assertion') {
    super(reason);
    this.name = 'AccessDenied';
  }
}

type HeaderBag = Record<string, string | string[] | undefined>;

function first(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** The assertion of a request: `Cf-Access-Jwt-Assertion`, else (if allowed) the CF_Authorization cookie. */
export function assertionOf(headers: HeaderBag, acceptCookie = false): string | null {
  const h = first(headers['cf-access-jwt-assertion']);
  if (h) return h.trim();
  if (!acceptCookie) return null;
  const cookie = first(headers.cookie);
  const m = cookie && /(?:^|;\s*)CF_Authorization=([^;]+)/.exec(cookie);
  return m ? m[1]!.trim() : null;
}

/**
 * A verifier pinned to RS256, the team's issuer and the app's audience, with keys from the
 * gateway's JWKS endpoint (jose's createRemoteJWKSet: cached, refetched on an unknown kid).
 */
export function createAccessVerifier(options: AccessVerifyOptions) {
  const issuer = options.teamUrl.replace(/\/+$/, '');
  const keys = options.keys ?? createRemoteJWKSet(new URL(options.certsUrl ?? `${issuer}/cdn-cgi/access/certs`));
  const audience = Array.isArray(options.audience) ? options.audience : [options.audience];
  if (!audience.length || audience.some((a) => !a)) throw new Error('access-verify: audience must name the application aud tag');

  async function verify(token: string | null | undefined): Promise<AccessIdentity> {
    if (!token) throw new AccessDenied('missing_assertion');
    try {
      const { payload } = await jwtVerify(token, keys, {
        algorithms: ['RS256'],
        issuer,
        audience,
        clockTolerance: options.clockToleranceSec ?? 0,
        requiredClaims: ['exp', 'iat', 'aud', 'iss'],
      });
      return {
        type: typeof payload.type === 'string' ? payload.type : '',
        commonName: typeof payload.common_name === 'string' ? payload.common_name : '',
        audience: Array.isArray(payload.aud) ? payload.aud : [String(payload.aud)],
        issuer: payload.iss!,
        issuedAt: payload.iat!,
        expiresAt: payload.exp!,
        claims: payload,
      };
    } catch (error) {
      if (error instanceof errors.JWTExpired) throw new AccessDenied('expired_assertion');
      throw new AccessDenied('invalid_assertion');
    }
  }

  return {
    verify,
    verifyHeaders: (headers: HeaderBag) => verify(assertionOf(headers, options.acceptCookie)),
  };
}
export type AccessVerifier = ReturnType<typeof createAccessVerifier>;
