import type { IncomingHttpHeaders } from 'node:http';

/** Longest credential value we look at; anything longer is refused as invalid, never parsed. */
export const MAX_CLIENT_ID = 255;
export const MAX_SECRET = 255;
export const MAX_JWT = 8192;
const MAX_SINGLE_HEADER = 2048;

export type ServiceCredentials =
  { kind: 'none' } | { kind: 'invalid'; reason: string; clientId: string | null } | { kind: 'service_token'; clientId: string; secret: string };

const PRINTABLE_ASCII = /^[\x21-\x7e]+$/;

/** A header's value; of a repeated one, the first. */
export function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function clean(value: string | undefined, max: number): string | null {
  if (value === undefined) return null;
  const v = value.trim();
  if (!v || v.length > max || !PRINTABLE_ASCII.test(v)) return null;
  return v;
}

/**
 * The service-token credentials of a request: `CF-Access-Client-Id` + `CF-Access-Client-Secret`,
 * or, when the application names one, a single header carrying
 * `{"cf-access-client-id": …, "cf-access-client-secret": …}`.
 */
export function serviceCredentials(headers: IncomingHttpHeaders, singleHeader: string | null): ServiceCredentials {
  if (singleHeader) {
    const raw = headerValue(headers[singleHeader.toLowerCase()]);
    if (raw !== undefined) return fromSingleHeader(raw);
  }
  const rawId = headerValue(headers['cf-access-client-id']);
  const rawSecret = headerValue(headers['cf-access-client-secret']);
  if (rawId === undefined && rawSecret === undefined) return { kind: 'none' };
  const clientId = clean(rawId, MAX_CLIENT_ID);
  const secret = clean(rawSecret, MAX_SECRET);
  if (rawId === undefined || rawSecret === undefined) return { kind: 'invalid', reason: 'incomplete_credentials', clientId };
  if (!clientId || !secret) return { kind: 'invalid', reason: 'malformed_credentials', clientId };
  return { kind: 'service_token', clientId, secret };
}

function fromSingleHeader(raw: string): ServiceCredentials {
  if (raw.length > MAX_SINGLE_HEADER) return { kind: 'invalid', reason: 'malformed_credentials', clientId: null };
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return { kind: 'invalid', reason: 'malformed_credentials', clientId: null };
  }
  if (!parsed || typeof parsed !== 'object') return { kind: 'invalid', reason: 'malformed_credentials', clientId: null };
  const o = parsed as Record<string, unknown>;
  const id = typeof o['cf-access-client-id'] === 'string' ? clean(o['cf-access-client-id'], MAX_CLIENT_ID) : null;
  const secret = typeof o['cf-access-client-secret'] === 'string' ? clean(o['cf-access-client-secret'], MAX_SECRET) : null;
  if (!id || !secret) return { kind: 'invalid', reason: id || secret ? 'incomplete_credentials' : 'malformed_credentials', clientId: id };
  return { kind: 'service_token', clientId: id, secret };
}

/** The JWT of a request: the `cf-access-token` header, else the `CF_Authorization` cookie. */
export function jwtOf(headers: IncomingHttpHeaders): { jwt: string } | { invalid: true } | null {
  const v = presentedJwt(headers);
  if (v === null) return null;
  return wellFormedJwt(v) ? { jwt: v } : { invalid: true };
}

/**
 * What a request presents as its JWT (jwtOf's value, trimmed), not yet checked by wellFormedJwt;
 * null when it presents none. For a caller that looks the value up among JWTs it verified before
 * (each of which was well formed) and checks it only when it is not found there.
 */
export function presentedJwt(headers: IncomingHttpHeaders): string | null {
  const header = headerValue(headers['cf-access-token']);
  if (header !== undefined) return header.trim();
  const cookie = headers.cookie;
  if (!cookie) return null;
  const i = cookie.indexOf('CF_Authorization=');
  if (i < 0 || (i > 0 && cookie[i - 1] !== ' ' && cookie[i - 1] !== ';')) {
    // Not at a cookie boundary: look for a proper one.
    for (const part of cookie.split(';')) {
      const p = part.trim();
      if (p.startsWith('CF_Authorization=')) return p.slice('CF_Authorization='.length).trim();
    }
    return null;
  }
  const end = cookie.indexOf(';', i);
  return cookie.slice(i + 'CF_Authorization='.length, end < 0 ? undefined : end).trim();
}

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** Three base64url parts, at most MAX_JWT characters: anything else is refused without a signature check. */
export function wellFormedJwt(v: string): boolean {
  return v.length > 0 && v.length <= MAX_JWT && JWT_SHAPE.test(v);
}
