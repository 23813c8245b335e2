import { TokenRows, tokenRowOf, type VerifierToken } from '@gatehouse/contracts';
import { appOf, loadInto, policyOf, tokenOf } from './replica.fixture.js';
import { Replica, type ReplicaEvent } from './replica.js';

const iso = (ms = Date.now()) => new Date(ms).toISOString();

const tokenEvent = (revision: number, token: VerifierToken, kind: 'created' | 'updated' | 'deleted' = 'updated'): ReplicaEvent => ({
  type: 'token',
  payload: { kind, revision, occurredAt: iso(), actor: { type: 'admin', id: 'a' }, token },
});

describe('Replica', () => {
  it('applies the next revision and ignores stale ones', () => {
    const r = new Replica();
    const t = tokenOf();
    loadInto(r, { revision: 5, tokens: [t], apps: [], policies: [] });
    expect(r.applyEvent(tokenEvent(6, { ...t, enabled: false }))).toBe('applied');
    expect(r.revision).toBe(6);
    expect(r.tokenByClientId(t.clientId)?.enabled).toBe(false);
    expect(r.applyEvent(tokenEvent(6, { ...t, enabled: true }))).toBe('stale');
    expect(r.applyEvent(tokenEvent(3, { ...t, enabled: true }))).toBe('stale');
    expect(r.tokenByClientId(t.clientId)?.enabled).toBe(false);
  });

  it('applies an event after a gap at once, reports the gap, and a pulled page older than it does not undo it', () => {
    const r = new Replica();
    const t = tokenOf();
    const u = tokenOf();
    loadInto(r, { revision: 1, tokens: [t, u], apps: [], policies: [] });
    // Revision 2 is lost; revision 3 deletes t.
    expect(r.applyEvent(tokenEvent(3, t, 'deleted'))).toBe('gap');
    expect(r.tokenByClientId(t.clientId)).toBeUndefined();
    expect(r.revision).toBe(1);
    // The pull (read before the delete committed) brings revision 2 and t's older state.
    r.apply([
      { type: 'token', revision: 1, token: t },
      { type: 'token', revision: 2, token: { ...u, enabled: false } },
    ]);
    r.caughtUp(3);
    expect(r.tokenByClientId(t.clientId)).toBeUndefined();
    expect(r.tokenByClientId(u.clientId)?.enabled).toBe(false);
    expect(r.revision).toBe(3);
    // Past the watermark the tombstone is forgotten, and stale events stay stale.
    expect(r.applyEvent(tokenEvent(2, t))).toBe('stale');
    expect(r.tokenByClientId(t.clientId)).toBeUndefined();
  });

  it('takes v3 token rows only when newer than the token or its tombstone, in any order', () => {
    const r = new Replica();
    const t = tokenOf();
    const gone = tokenOf();
    r.apply(
      [{ type: 'tombstone', entity: 'token', id: gone.id, revision: 5 }],
      TokenRows.of([tokenRowOf(t, 7), tokenRowOf({ ...t, name: 'older' }, 6), tokenRowOf(gone, 4)]),
    );
    expect(r.token(t.id)?.name).toBe(t.name);
    expect(r.token(t.id)?.revision).toBe(7);
    // A row older than the tombstone does not bring the token back; a newer one does (a re-create).
    expect(r.token(gone.id)).toBeUndefined();
    r.apply([], TokenRows.of([tokenRowOf(gone, 4)]));
    expect(r.token(gone.id)).toBeUndefined();
    r.apply([], TokenRows.of([tokenRowOf({ ...t, name: 'newer' }, 8), tokenRowOf(gone, 9)]));
    expect(r.token(t.id)?.name).toBe('newer');
    expect(r.tokenByClientId(gone.clientId)?.id).toBe(gone.id);
    // Ids are found whatever the case of their hex digits, and a malformed id finds nothing.
    expect(r.token(t.id.toUpperCase())?.id).toBe(t.id);
    expect(r.token(t.id.replace(/-/g, '_'))).toBeUndefined();
    expect(r.token(`${t.id.slice(0, 35)}g`)).toBeUndefined();
  });

  it('refuses a page whole when one of its tokens cannot be kept (nothing of it applied, no half-applied copy)', () => {
    const r = new Replica();
    const t = tokenOf();
    const u = tokenOf();
    loadInto(r, { revision: 1, tokens: [t, u], apps: [], policies: [] });
    let generation = 0;
    r.onChange(() => generation++);
    // A row the store cannot hold (a name past its 64 KiB strings; the token service never sends
    // one, a compromised peer may) after a row that disables a token.
    const rows = [tokenRowOf({ ...t, enabled: false }, 2), tokenRowOf({ ...u, name: 'x'.repeat(70_000) }, 3)];
    expect(() => r.apply([], TokenRows.of(rows))).toThrow('cannot be kept');
    expect(r.tokenByClientId(t.clientId)?.enabled).toBe(true);
    expect(() =>
      r.apply([
        { type: 'token', revision: 2, token: { ...t, enabled: false } },
        { type: 'token', revision: 3, token: { ...u, name: 'x'.repeat(70_000) } },
      ]),
    ).toThrow();
    expect(r.tokenByClientId(t.clientId)?.enabled).toBe(true);
    expect(generation).toBe(0);
    // The same page without the bad row applies.
    r.apply([], TokenRows.of(rows.slice(0, 1)));
    expect(r.tokenByClientId(t.clientId)?.enabled).toBe(false);
    expect(generation).toBe(1);
  });

  it('does not let an older record overwrite a newer one', () => {
    const r = new Replica();
    const t = tokenOf();
    loadInto(r, { revision: 1, tokens: [t], apps: [], policies: [] });
    r.applyEvent(tokenEvent(4, { ...t, enabled: false }));
    r.applyEvent(tokenEvent(3, { ...t, enabled: true }));
    r.apply([{ type: 'token', revision: 2, token: { ...t, enabled: true } }]);
    expect(r.tokenByClientId(t.clientId)?.enabled).toBe(false);
  });

  it('is not loaded until it first catches up, and keeps events that arrive while loading', () => {
    const r = new Replica();
    const t = tokenOf();
    expect(r.applyEvent(tokenEvent(8, t, 'deleted'))).toBe('gap');
    expect(r.loaded).toBe(false);
    r.apply([{ type: 'token', revision: 7, token: t }]);
    r.caughtUp(8);
    expect(r.loaded).toBe(true);
    expect(r.tokenByClientId(t.clientId)).toBeUndefined();
    expect(r.revision).toBe(8);
  });

  it('forgets everything on reset (behind the tombstone floor)', () => {
    const r = new Replica();
    const t = tokenOf();
    loadInto(r, { revision: 9, tokens: [t], apps: [], policies: [] });
    r.reset();
    expect(r.tokenByClientId(t.clientId)).toBeUndefined();
    expect(r.revision).toBe(-1);
  });

  it('finds apps by host and the longest path prefix, at path boundaries only', () => {
    const r = new Replica();
    const root = appOf({ domain: 'example.com' });
    const api = appOf({ domain: 'example.com/api' });
    const v2 = appOf({ domain: 'example.com/api/v2' });
    const port = appOf({ domain: 'other.test:8080' });
    loadInto(r, { revision: 1, tokens: [], apps: [root, api, v2, port], policies: [] });
    expect(r.findApp('EXAMPLE.com', '/')?.id).toBe(root.id);
    expect(r.findApp('example.com:8000', '/api')?.id).toBe(api.id);
    expect(r.findApp('example.com', '/api/x?y=1')?.id).toBe(api.id);
    expect(r.findApp('example.com', '/apiary')?.id).toBe(root.id);
    expect(r.findApp('example.com', '/api/v2/z')?.id).toBe(v2.id);
    expect(r.findApp('other.test:8080', '/')?.id).toBe(port.id);
    expect(r.findApp('other.test', '/')).toBeUndefined();
    expect(r.findApp('nope.example.com', '/')).toBeUndefined();
  });

  it('matches canonical paths to prefixes without case, hosts without trailing dot, prefixes ending at "/" or "."', () => {
    const r = new Replica();
    const broad = appOf({ domain: 'example.com' });
    const admin = appOf({ domain: 'example.com/admin' });
    const encoded = appOf({ domain: 'example.com/%7euser' });
    loadInto(r, { revision: 1, tokens: [], apps: [broad, admin, encoded], policies: [] });
    for (const p of ['/admin', '/Admin/users', '/ADMIN', '/admin/', '/admin.json', '/Admin.'])
      expect([p, r.findApp('example.com', p)?.id]).toEqual([p, admin.id]);
    for (const p of ['/administrator', '/x/admin', '/']) expect([p, r.findApp('example.com', p)?.id]).toEqual([p, broad.id]);
    // An app's own prefix is held in canonical form too (`%7e` is `~`).
    expect(r.findApp('example.com', '/~User/x')?.id).toBe(encoded.id);
    expect(r.findApp('Example.COM.', '/admin')?.id).toBe(admin.id);
    expect(r.findApp('example.com.:443', '/admin')?.id).toBe(admin.id);
    expect(r.findApp('example.com..', '/admin')).toBeUndefined();
    expect(r.findApp('user@example.com', '/admin')).toBeUndefined();
    // The longest prefix in canonical form wins, whatever the written lengths.
    const short = appOf({ domain: 'other.example/%7ea' });
    const long = appOf({ domain: 'other.example/~a/b' });
    loadInto(r, { revision: 2, tokens: [], apps: [short, long], policies: [] });
    expect(r.findApp('other.example', '/~a/b/x')?.id).toBe(long.id);
    expect(r.findApp('other.example', '/~a/x')?.id).toBe(short.id);
  });

  it('drops the policies of a deleted app and orders policies by precedence', () => {
    const r = new Replica();
    const app = appOf();
    const p2 = policyOf(app.id, { precedence: 2 });
    const p1 = policyOf(app.id, { precedence: 1 });
    loadInto(r, { revision: 1, tokens: [], apps: [app], policies: [p2, p1] });
    expect(r.policiesFor(app.id).map((p) => p.id)).toEqual([p1.id, p2.id]);
    const gen = r.generation;
    r.applyEvent({ type: 'app', payload: { kind: 'deleted', revision: 2, occurredAt: iso(), app } });
    expect(r.policiesFor(app.id)).toEqual([]);
    expect(r.findApp(app.domain, '/')).toBeUndefined();
    expect(r.generation).toBeGreaterThan(gen);
  });
});
