import { canonicalHost, canonicalTarget } from './path.js';

const path = (target: string) => {
  const c = canonicalTarget(target);
  return c.ok ? c.path + c.query : `refused:${c.reason}`;
};

describe('canonicalTarget', () => {
  it('decodes unreserved characters, resolves dot segments and merges slashes (RFC 3986 §6)', () => {
    expect(path('/')).toBe('/');
    expect(path('/%61dmin/users')).toBe('/admin/users');
    expect(path('/%7Euser/%2D%5F')).toBe('/~user/-_');
    expect(path('//admin/users')).toBe('/admin/users');
    expect(path('/a///b')).toBe('/a/b');
    expect(path('/./admin/users')).toBe('/admin/users');
    expect(path('/x/../admin/users')).toBe('/admin/users');
    expect(path('/%2e/admin/users')).toBe('/admin/users');
    expect(path('/x/%2E%2e/admin')).toBe('/admin');
    expect(path('/x/.%2e/admin')).toBe('/admin');
    expect(path('/a/b/..')).toBe('/a/');
    expect(path('/a/.')).toBe('/a/');
    expect(path('/a/')).toBe('/a/');
    expect(path('/a//')).toBe('/a/');
    expect(path('/x/..')).toBe('/');
  });

  it('keeps case, other encodings (in upper-case hex) and the query as they are', () => {
    expect(path('/Admin/Users')).toBe('/Admin/Users');
    expect(path('/a%20b/%3f%e2%82%ac')).toBe('/a%20b/%3F%E2%82%AC');
    expect(path('/a?x=/../b&y=%2f')).toBe('/a?x=/../b&y=%2f');
    expect(path('/a/../b?')).toBe('/b?');
  });

  it('refuses what an origin could read in another way', () => {
    expect(path('/admin%2fusers')).toBe('refused:encoded_slash_in_path');
    expect(path('/admin%2Fusers')).toBe('refused:encoded_slash_in_path');
    expect(path('/admin%5cusers')).toBe('refused:encoded_slash_in_path');
    expect(path('/admin\\users')).toBe('refused:backslash_in_path');
    expect(path('/admin%00')).toBe('refused:control_character_in_path');
    expect(path('/admin\u0000')).toBe('refused:control_character_in_path');
    expect(path('/admin;v=1/users')).toBe('refused:path_parameters_not_supported');
    expect(path('/public/..;/admin')).toBe('refused:path_parameters_not_supported');
    expect(path('/%252e%252e/admin')).toBe('refused:double_encoding_in_path');
    expect(path('/%25%32%65')).toBe('refused:double_encoding_in_path'); // `%252e` once its digits are decoded
    expect(path('/100%25')).toBe('/100%25');
    expect(path('/%zz')).toBe('refused:invalid_percent_encoding');
    expect(path('/%4')).toBe('refused:invalid_percent_encoding');
    expect(path('/..')).toBe('refused:path_escapes_root');
    expect(path('/../x')).toBe('refused:path_escapes_root');
    expect(path('/a/../../x')).toBe('refused:path_escapes_root');
    expect(path('/%2e%2e/x')).toBe('refused:path_escapes_root');
    expect(path('http://other/admin')).toBe('refused:request_target_not_a_path');
    expect(path('*')).toBe('refused:request_target_not_a_path');
    expect(path('other:80')).toBe('refused:request_target_not_a_path');
    expect(path('/a#b')).toBe('refused:fragment_in_request_target');
  });

  it('refuses Unicode that is not plain: raw bytes, invalid UTF-8 (overlong dots and slashes), look-alikes', () => {
    expect(path('/\u00e9')).toBe('refused:non_ascii_in_path');
    expect(path('/%C0%AE%C0%AE/admin')).toBe('refused:invalid_utf8_in_path');
    expect(path('/%C0%AFadmin')).toBe('refused:invalid_utf8_in_path');
    expect(path('/%FF')).toBe('refused:invalid_utf8_in_path');
    // U+FF41 FULLWIDTH LATIN SMALL LETTER A: NFKC makes it "a" (some origins normalise).
    expect(path('/%EF%BD%81dmin')).toBe('refused:ambiguous_unicode_in_path');
    // U+2024 ONE DOT LEADER: NFKC makes it "."
    expect(path('/%E2%80%A4%E2%80%A4/admin')).toBe('refused:ambiguous_unicode_in_path');
    // U+FF0F FULLWIDTH SOLIDUS, U+212A KELVIN SIGN (lower-cases to "k"), U+017F LONG S (upper-cases to "S").
    expect(path('/x%EF%BC%8F..%EF%BC%8Fadmin')).toBe('refused:ambiguous_unicode_in_path');
    expect(path('/%E2%84%AA')).toBe('refused:ambiguous_unicode_in_path');
    expect(path('/%C5%BF')).toBe('refused:ambiguous_unicode_in_path');
    // Plain text in other scripts and decomposed accents (macOS file names) pass.
    expect(path('/caf%C3%A9')).toBe('/caf%C3%A9');
    expect(path('/cafe%CC%81/%E6%97%A5%E6%9C%AC')).toBe('/cafe%CC%81/%E6%97%A5%E6%9C%AC');
  });
});

describe('canonicalHost', () => {
  it('lower-cases, separates the port and drops one trailing dot', () => {
    expect(canonicalHost('Example.COM')).toEqual({ name: 'example.com', port: null });
    expect(canonicalHost('example.com.:8443')).toEqual({ name: 'example.com', port: '8443' });
    expect(canonicalHost('[::1]:80')).toEqual({ name: '[::1]', port: '80' });
  });

  it('refuses what is no host name', () => {
    for (const bad of ['', 'a..b', '.example.com', 'example.com..', 'user@example.com', 'example.com:x', 'exa mple.com', 'example.com/admin', 'a.com:80:81']) {
      expect(canonicalHost(bad)).toBeNull();
    }
  });
});
