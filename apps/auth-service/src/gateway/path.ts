/**
 * The one canonical form of a request path, used to choose the application, by forward auth, and
 * as the path sent to the upstream, so what is judged is exactly what the upstream receives.
 *
 * RFC 3986 §6.2.2: percent-encoded unreserved characters are decoded, other percent-encodings
 * get upper-case hex, dot segments are resolved, repeated slashes are merged. What an origin could
 * read in more than one way is refused instead of guessed (see docs/security.md, "Paths"):
 * - an encoded `/`, `\` or NUL (`%2F`, `%5C`, `%00`), a raw backslash or control character;
 * - a raw non-ASCII byte, percent-encoded bytes that are not UTF-8 (overlong forms such as
 *   `%C0%AE`) or that encode a look-alike of an ASCII character (`ａ`, `․`: see asciiLookalike);
 * - an encoded `%` that itself encodes something (`%252e`: decoded twice by some origins);
 * - `;` path parameters (Tomcat and Spring strip them, other origins do not);
 * - a `..` that climbs above the root, and a request target that is not a path (`*`,
 *   `http://host/`, `host:port`) or carries a fragment.
 */

export type Canonical = { ok: true; path: string; query: string } | { ok: false; reason: string };

const HEX = /^[0-9A-Fa-f]{2}$/;
/** Only unreserved characters, sub-delimiters other than `;`, `:`, `@` and slashes. */
const PLAIN = /^[A-Za-z0-9\-._~!$&'()*+,=:@/]*$/;
// eslint-disable-next-line no-control-regex -- control characters are what it finds
const CONTROL = /[\x00-\x20\x7f]/;
/** `//`, or a `.` or `..` segment. */
const NOT_CANONICAL = /\/\/|\/\.\.?(?:\/|$)/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

function unreserved(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2e || c === 0x5f || c === 0x7e;
}

const fail = (reason: string): Canonical => ({ ok: false, reason });

/**
 * True when a non-ASCII character of `text` becomes ASCII under NFKC normalisation or case
 * mapping (`ａ` → `a`, `․` → `.`, `／` → `/`, `K` (Kelvin) → `k`, `ſ` → `S`): an origin that
 * normalises or compares without case would read it as a plain character of a path prefix.
 * Other text (accents, scripts, NFD forms) is left alone.
 */
function asciiLookalike(text: string): boolean {
  for (const ch of text) {
    if (ch.charCodeAt(0) < 0x80) continue;
    for (const mapped of [ch.normalize('NFKC'), ch.toLowerCase(), ch.toUpperCase()]) {
      for (let i = 0; i < mapped.length; i++) if (mapped.charCodeAt(i) < 0x80) return true;
    }
  }
  return false;
}

/**
 * One segment (between slashes) in canonical percent-encoding, or the reason it is refused.
 * `bytes` collects runs of encoded non-ASCII bytes, checked as UTF-8 text.
 */
function segment(raw: string): string | { reason: string } {
  let out = '';
  let bytes: number[] = [];
  const flush = (): string | null => {
    if (!bytes.length) return null;
    let text: string;
    try {
      text = utf8.decode(Uint8Array.from(bytes));
    } catch {
      return 'invalid_utf8_in_path';
    }
    if (asciiLookalike(text)) return 'ambiguous_unicode_in_path';
    out += bytes.map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');
    bytes = [];
    return null;
  };
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === 0x25 /* % */) {
      const hex = raw.slice(i + 1, i + 3);
      if (!HEX.test(hex)) return { reason: 'invalid_percent_encoding' };
      const b = parseInt(hex, 16);
      i += 2;
      if (b >= 0x80) {
        bytes.push(b);
        continue;
      }
      const bad = flush();
      if (bad) return { reason: bad };
      if (b === 0x2f || b === 0x5c) return { reason: 'encoded_slash_in_path' };
      if (b < 0x20 || b === 0x7f) return { reason: 'control_character_in_path' };
      out += unreserved(b) ? String.fromCharCode(b) : `%${hex.toUpperCase()}`;
      continue;
    }
    const bad = flush();
    if (bad) return { reason: bad };
    if (c === 0x5c) return { reason: 'backslash_in_path' };
    if (c === 0x3b /* ; */) return { reason: 'path_parameters_not_supported' };
    if (c <= 0x20 || c === 0x7f) return { reason: 'control_character_in_path' };
    if (c >= 0x80) return { reason: 'non_ascii_in_path' };
    out += raw[i];
  }
  const bad = flush();
  if (bad) return { reason: bad };
  // Checked on the result: `%25%32%65` is `%252e` once its digits are decoded.
  if (/%25[0-9A-Fa-f]{2}/.test(out)) return { reason: 'double_encoding_in_path' };
  return out;
}

/** The canonical path and the query (with its `?`, unchanged) of a request target. */
export function canonicalTarget(target: string): Canonical {
  if (target.charCodeAt(0) !== 0x2f) return fail('request_target_not_a_path');
  if (target.includes('#')) return fail('fragment_in_request_target');
  const q = target.indexOf('?');
  const rawPath = q < 0 ? target : target.slice(0, q);
  const query = q < 0 ? '' : target.slice(q);
  if (CONTROL.test(query)) return fail('control_character_in_query');
  // The common case, already canonical: plain characters, no empty or dot segment.
  if (PLAIN.test(rawPath) && !NOT_CANONICAL.test(rawPath)) return { ok: true, path: rawPath, query };
  const parts = rawPath.split('/');
  const out: string[] = [];
  // parts[0] is '' (the leading slash). Empty segments (`//`) are merged away, except that a
  // trailing slash is kept: `/a/` and `/a` may be different resources.
  for (let i = 1; i < parts.length; i++) {
    const last = i === parts.length - 1;
    const s = segment(parts[i]!);
    if (typeof s !== 'string') return fail(s.reason);
    if (s === '.' || s === '..') {
      if (s === '..' && out.pop() === undefined) return fail('path_escapes_root');
      if (last) out.push('');
      continue;
    }
    if (s === '' && !last) continue;
    out.push(s);
  }
  return { ok: true, path: `/${out.join('/')}`, query };
}

/**
 * A Host header as the application index holds names: lower case, no trailing dot
 * (`Example.COM.:8443` is `example.com` on port 8443). Null when it is no host name at all.
 */
export function canonicalHost(hostHeader: string): { name: string; port: string | null } | null {
  const m = /^(\[[0-9a-f:.]+\]|[a-z0-9_.-]+)(?::(\d{1,5}))?$/.exec(hostHeader.trim().toLowerCase());
  if (!m) return null;
  const name = m[1]!.endsWith('.') ? m[1]!.slice(0, -1) : m[1]!;
  // Labels only: no empty label (`a..b`, a leading dot, or a name that was only dots).
  if (!name.startsWith('[') && !/^[a-z0-9_-]+(?:\.[a-z0-9_-]+)*$/.test(name)) return null;
  return { name, port: m[2] ?? null };
}
