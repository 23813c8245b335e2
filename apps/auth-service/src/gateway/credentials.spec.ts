import { jwtOf, presentedJwt, serviceCredentials, wellFormedJwt } from './credentials.js';

const ID = '0123456789abcdef0123456789abcdef.access';
const SECRET = 'gatehouse_' + 'a'.repeat(49);

describe('serviceCredentials', () => {
  it('reads the two headers', () => {
    expect(serviceCredentials({ 'cf-access-client-id': ID, 'cf-access-client-secret': SECRET }, null)).toEqual({
      kind: 'service_token',
      clientId: ID,
      secret: SECRET,
    });
  });

  it('reports none, one header only, empty, huge and non-ASCII values as refusals', () => {
    expect(serviceCredentials({}, null)).toEqual({ kind: 'none' });
    expect(serviceCredentials({ 'cf-access-client-id': ID }, null)).toMatchObject({ kind: 'invalid', reason: 'incomplete_credentials' });
    expect(serviceCredentials({ 'cf-access-client-secret': SECRET }, null)).toMatchObject({ kind: 'invalid', reason: 'incomplete_credentials' });
    expect(serviceCredentials({ 'cf-access-client-id': '', 'cf-access-client-secret': SECRET }, null)).toMatchObject({ kind: 'invalid' });
    expect(serviceCredentials({ 'cf-access-client-id': ID, 'cf-access-client-secret': 'x'.repeat(10_000) }, null)).toMatchObject({ kind: 'invalid' });
    expect(serviceCredentials({ 'cf-access-client-id': 'ïd', 'cf-access-client-secret': SECRET }, null)).toMatchObject({ kind: 'invalid' });
  });

  it('reads the single JSON header when the app names one', () => {
    const h = { authorization: JSON.stringify({ 'cf-access-client-id': ID, 'cf-access-client-secret': SECRET }) };
    expect(serviceCredentials(h, 'Authorization')).toEqual({ kind: 'service_token', clientId: ID, secret: SECRET });
    expect(serviceCredentials({ authorization: 'Bearer x' }, 'Authorization')).toMatchObject({ kind: 'invalid', reason: 'malformed_credentials' });
    expect(serviceCredentials({ authorization: JSON.stringify({ 'cf-access-client-id': ID }) }, 'Authorization')).toMatchObject({
      kind: 'invalid',
      reason: 'incomplete_credentials',
    });
    expect(serviceCredentials({ authorization: '[1]' }, 'Authorization')).toMatchObject({ kind: 'invalid' });
    // Without that setting the header means nothing to us.
    expect(serviceCredentials(h, null)).toEqual({ kind: 'none' });
  });
});

describe('jwtOf', () => {
  it('reads the header first, then the cookie at a cookie boundary', () => {
    expect(jwtOf({ 'cf-access-token': 'a.b.c', cookie: 'CF_Authorization=d.e.f' })).toEqual({ jwt: 'a.b.c' });
    expect(jwtOf({ cookie: 'x=1; CF_Authorization=d.e.f; y=2' })).toEqual({ jwt: 'd.e.f' });
    expect(jwtOf({ cookie: 'XCF_Authorization=d.e.f' })).toBeNull();
    expect(jwtOf({ cookie: 'XCF_Authorization=d.e.f; CF_Authorization=g.h.i' })).toEqual({ jwt: 'g.h.i' });
    expect(jwtOf({})).toBeNull();
  });

  it('flags malformed and oversized values', () => {
    expect(jwtOf({ 'cf-access-token': 'not a jwt' })).toEqual({ invalid: true });
    expect(jwtOf({ 'cf-access-token': 'a.' + 'b'.repeat(9000) + '.c' })).toEqual({ invalid: true });
    expect(jwtOf({ cookie: 'CF_Authorization=; x=1' })).toEqual({ invalid: true });
  });

  it('presentedJwt finds the same value unchecked; wellFormedJwt is the check', () => {
    expect(presentedJwt({ 'cf-access-token': ' a.b.c ', cookie: 'CF_Authorization=d.e.f' })).toBe('a.b.c');
    expect(presentedJwt({ cookie: 'x=1; CF_Authorization= d.e.f ; y=2' })).toBe('d.e.f');
    expect(presentedJwt({ cookie: 'XCF_Authorization=d.e.f; CF_Authorization=g.h.i' })).toBe('g.h.i');
    expect(presentedJwt({ cookie: 'XCF_Authorization=d.e.f' })).toBeNull();
    expect(presentedJwt({ cookie: 'CF_Authorization=' })).toBe('');
    expect(presentedJwt({ 'cf-access-token': 'not a jwt' })).toBe('not a jwt');
    expect(presentedJwt({})).toBeNull();
    for (const ok of ['a.b.c', 'a.b.', 'A-_0.x.y']) expect(wellFormedJwt(ok)).toBe(true);
    for (const bad of ['', 'a.b', 'a..c', 'a.b.c.d', 'a b.c.d', 'a.b.c=', `a.${'b'.repeat(8191)}.c`]) expect(wellFormedJwt(bad)).toBe(false);
  });
});
