import { withoutAccessCookie } from './proxy.js';

describe('the CF_Authorization cookie is not sent upstream', () => {
  it('drops it however an origin may read the Cookie header, keeps the others', () => {
    // Each one is read as CF_Authorization by some origin: Python's SimpleCookie (aiohttp) splits at
    // whitespace and commas, RFC 2965 parsers at commas; PHP URL-decodes names and reads `.`, ` `, `[` as `_`.
    for (const [value, kept] of [
      ['a=1; CF_Authorization=x; b=2', 'a=1; b=2'],
      ['a=1; cf_authorization=x', 'a=1'],
      ['CF_Authorization', ''],
      ['a=1, CF_Authorization=x; b=2', 'b=2'],
      ['a=1 CF_Authorization=x; b=2', 'b=2'],
      ['a=1\tCF_Authorization=x', ''],
      ['CF.Authorization=x; b=2', 'b=2'],
      ['CF Authorization=x; b=2', 'b=2'],
      ['CF[Authorization=x; b=2', 'b=2'],
      ['CF_Authorization[]=x; b=2', 'b=2'],
      ['CF%5FAuthorization=x; b=2', 'b=2'],
      ['cf%5fauthoriz%61tion=x; b=2', 'b=2'],
      ['CF+Authorization=x; b=2', 'b=2'],
      ['CF%5FAuthorization%zz=y; CF%5FAuthorization=x%; b=2', 'CF%5FAuthorization%zz=y; b=2'],
    ]) {
      expect([value, withoutAccessCookie(value!)]).toEqual([value, kept]);
    }
  });

  it('forwards other cookies as they came', () => {
    for (const value of ['MY_CF_Authorization=1', 'a=%7Bx%7D; b=2', 'Authorization=1', 'a=%zz', 'CF_Authorizations=1;  b = 2 ']) {
      expect(withoutAccessCookie(value)).toBe(value);
    }
  });
});
