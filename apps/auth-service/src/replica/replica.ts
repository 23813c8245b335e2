import { parseDuration, type AppChanged, type Application, type LinkedPolicy, type Organization, type OrganizationChanged, type Policy, type PolicyChanged, type TokenChanged, type VerifierToken } from '@gatehouse/contracts';
import { canonicalHost, canonicalTarget } from '../gateway/path.js';

export interface ReplicaToken extends VerifierToken {
  expiresAtMs: number | null;
  previousExpiresAtMs: number | null;
}

export interface ReplicaApp extends Application {
  host: string;
  /** '' for the whole host, else '/prefix' (no trailing slash). */
  pathPrefix: string;
  sessionDurationMs: number;
  sessionsRevokedAtMs: number | null;
  upstreamUrl: URL | null;
  /** The linked reusable policies as Policy records of this app, in precedence order. */
  linked: ReplicaPolicy[];
}

/** A policy as the gateway evaluates it: an app-scoped one, or a linked reusable one. */
export interface ReplicaPolicy extends Policy {
  /** The policy's own session duration (reusable policies only); null: the app's. */
  sessionDurationMs: number | null;
}

export interface Snapshot {
  revision: number;
  tokens: VerifierToken[];
  apps: Application[];
  policies: Policy[];
  /** Saved Access organizations (accounts without one have the defaults: not strict). */
  organizations?: Organization[];
}

export type ReplicaEvent =
  | { type: 'token'; payload: TokenChanged }
  | { type: 'app'; payload: AppChanged }
  | { type: 'policy'; payload: PolicyChanged }
  | { type: 'organization'; payload: OrganizationChanged };

const DEFAULT_SESSION_MS = 24 * 3_600_000;
const MAX_BUFFERED = 10_000;
/** Where a path prefix ends: `/`, `.`, or the end of the path. */
const PREFIX_END = new Set([0x2f, 0x2e]);

function toToken(t: VerifierToken): ReplicaToken {
  return {
    ...t,
    expiresAtMs: t.expiresAt ? Date.parse(t.expiresAt) : null,
    previousExpiresAtMs: t.previousClientSecretExpiresAt ? Date.parse(t.previousClientSecretExpiresAt) : null,
  };
}

function durationMs(value: string | null, fallback: number | null): number | null {
  if (!value) return fallback;
  try {
    return parseDuration(value) ?? fallback;
  } catch {
    return fallback; // the token service validated it; keep the fallback if not
  }
}

/** A linked reusable policy, evaluated exactly like an app-scoped one (see contracts `policyAdmits`). */
function toLinked(a: Application, p: LinkedPolicy): ReplicaPolicy {
  return {
    id: p.id,
    accountId: a.accountId,
    appId: a.id,
    name: p.name,
    decision: p.decision,
    precedence: p.precedence,
    include: p.include,
    require: p.require,
    exclude: p.exclude,
    createdAt: p.createdAt,
    updatedAt: p.updatedAt,
    sessionDurationMs: durationMs(p.sessionDuration, null),
  };
}

function toApp(a: Application): ReplicaApp {
  const slash = a.domain.indexOf('/');
  const host = (slash < 0 ? a.domain : a.domain.slice(0, slash)).toLowerCase();
  const pathPrefix = slash < 0 ? '' : a.domain.slice(slash).replace(/\/+$/, '');
  const sessionDurationMs = durationMs(a.sessionDuration, DEFAULT_SESSION_MS)!;
  let upstreamUrl: URL | null = null;
  try {
    upstreamUrl = a.upstream ? new URL(a.upstream) : null;
  } catch {
    upstreamUrl = null;
  }
  return {
    ...a,
    host,
    pathPrefix,
    sessionDurationMs,
    sessionsRevokedAtMs: a.sessionsRevokedAt ? Date.parse(a.sessionsRevokedAt) : null,
    upstreamUrl,
    linked: a.linkedPolicies.map((p) => toLinked(a, p)).sort(byPrecedence),
  };
}

const byPrecedence = (a: Policy, b: Policy) => a.precedence - b.precedence || a.createdAt.localeCompare(b.createdAt);

function revisionOf(e: ReplicaEvent): number {
  return e.payload.revision;
}

/**
 * The gateway's in-memory copy of tokens (hashes only), applications and policies.
 *
 * `revision` is the watermark: every change up to it has been applied. Each entity also remembers
 * the revision that last set it (and deletions leave a tombstone), so an event is applied at once
 * even when it arrives after a gap (revocations must not wait), an older state never overwrites
 * a newer one, and a snapshot taken before some buffered event does not undo that event.
 */
export class Replica {
  revision = -1;
  /** Bumped on every change: caches of derived decisions compare it. */
  generation = 0;
  lastSyncAt: number | null = null;
  private tokens = new Map<string, ReplicaToken>();
  private byClientId = new Map<string, ReplicaToken>();
  private apps = new Map<string, ReplicaApp>();
  private policies = new Map<string, Policy>();
  private policiesOfApp = new Map<string, ReplicaPolicy[]>();
  private organizations = new Map<string, Organization>();
  private appsByHost = new Map<string, ReplicaApp[]>();
  private appsByAud = new Map<string, ReplicaApp>();
  private entityRevision = new Map<string, number>();
  private buffered: ReplicaEvent[] = [];
  private listeners: Array<(e: ReplicaEvent | null) => void> = [];
  private canonicalPrefixes = new WeakMap<ReplicaApp, string | null>();

  get loaded(): boolean {
    return this.revision >= 0;
  }

  /** How many revisions beyond the watermark have been seen (buffered) but not applied: 0 when current. */
  get revisionLag(): number {
    let highest = this.revision;
    for (const e of this.buffered) highest = Math.max(highest, revisionOf(e));
    return highest - this.revision;
  }

  /** True when a newer event than the watermark + 1 was seen: a resync should follow. */
  get hasGap(): boolean {
    return this.buffered.some((e) => revisionOf(e) > this.revision);
  }

  onChange(listener: (e: ReplicaEvent | null) => void): void {
    this.listeners.push(listener);
  }

  tokenByClientId(clientId: string): ReplicaToken | undefined {
    return this.byClientId.get(clientId);
  }

  token(id: string): ReplicaToken | undefined {
    return this.tokens.get(id);
  }

  app(id: string): ReplicaApp | undefined {
    return this.apps.get(id);
  }

  appByAud(aud: string): ReplicaApp | undefined {
    return this.appsByAud.get(aud);
  }

  appCount(): number {
    return this.apps.size;
  }

  tokenCount(): number {
    return this.tokens.size;
  }

  /** The account's saved Access organization, if any. */
  organization(accountId: string): Organization | undefined {
    return this.organizations.get(accountId);
  }

  /**
   * The app's policies in precedence order: its app-scoped ones, or its linked reusable ones (the
   * token service never lets an app have both; were both ever present, both lists are evaluated).
   */
  policiesFor(appId: string): ReplicaPolicy[] {
    const inline = this.policiesOfApp.get(appId) ?? [];
    const linked = this.apps.get(appId)?.linked ?? [];
    if (!linked.length) return inline;
    if (!inline.length) return linked;
    return [...inline, ...linked].sort(byPrecedence);
  }

  /**
   * The application for a Host header and a canonical path (`canonicalTarget`; a query is
   * ignored): the longest matching path prefix wins. Hosts match without case, port (unless an
   * application names one) or trailing dot; prefixes match case-insensitively (Express, IIS and
   * others route `/Admin` as `/admin`) and end at `/`, `.` (`/admin.json` is `/admin` to Rails and
   * suffix-matching Spring) or the end of the path.
   */
  findApp(hostHeader: string, path: string): ReplicaApp | undefined {
    const host = canonicalHost(hostHeader);
    if (!host) return undefined;
    const candidates = (host.port !== null ? this.appsByHost.get(`${host.name}:${host.port}`) : undefined) ?? this.appsByHost.get(host.name);
    if (!candidates) return undefined;
    const q = path.indexOf('?');
    const pathname = (q < 0 ? path : path.slice(0, q)).toLowerCase();
    // Longest canonical prefix: the index orders by the prefix as written, which its canonical
    // form may shorten (`/%7Ea` is `/~a`).
    let best: ReplicaApp | undefined;
    let bestLength = -1;
    for (const app of candidates) {
      const p = this.prefixOf(app);
      if (p === null || p.length <= bestLength) continue; // null: a prefix that cannot be canonicalised matches nothing
      if (p === '' || pathname === p || (pathname.startsWith(p) && PREFIX_END.has(pathname.charCodeAt(p.length)))) {
        best = app;
        bestLength = p.length;
      }
    }
    return best;
  }

  /** An application's path prefix in canonical, lower-case form (cached per app object). */
  private prefixOf(app: ReplicaApp): string | null {
    let p = this.canonicalPrefixes.get(app);
    if (p === undefined) {
      const c = app.pathPrefix ? canonicalTarget(app.pathPrefix) : null;
      p = !app.pathPrefix ? '' : c?.ok && !c.query ? c.path.toLowerCase().replace(/\/+$/, '') : null;
      this.canonicalPrefixes.set(app, p);
    }
    return p;
  }

  /** Replaces the state with a snapshot, then re-applies buffered events newer than it. */
  loadSnapshot(s: Snapshot, now = Date.now()): void {
    this.lastSyncAt = now;
    if (s.revision < this.revision) return; // older than what we hold: keep ours
    this.tokens = new Map(s.tokens.map((t) => [t.id, toToken(t)]));
    this.byClientId = new Map([...this.tokens.values()].map((t) => [t.clientId, t]));
    this.apps = new Map(s.apps.map((a) => [a.id, toApp(a)]));
    this.policies = new Map(s.policies.map((p) => [p.id, p]));
    this.organizations = new Map((s.organizations ?? []).map((o) => [o.accountId, o]));
    this.entityRevision = new Map();
    this.revision = s.revision;
    const replay = this.buffered.filter((e) => revisionOf(e) > s.revision).sort((a, b) => revisionOf(a) - revisionOf(b));
    this.buffered = [];
    for (const e of replay) this.applyEntity(e);
    this.buffered = replay;
    this.advance();
    this.rebuildIndexes();
    this.generation++;
    for (const l of this.listeners) l(null);
  }

  /** Applies one event. Returns 'stale' (already known), 'applied', or 'gap' (applied, resync needed). */
  apply(e: ReplicaEvent): 'stale' | 'applied' | 'gap' {
    const rev = revisionOf(e);
    if (!this.loaded) {
      // Not loaded yet: keep it for after the snapshot.
      if (this.buffered.length < MAX_BUFFERED) this.buffered.push(e);
      return 'gap';
    }
    if (rev <= this.revision) return 'stale';
    if (this.buffered.length >= MAX_BUFFERED) this.buffered.shift();
    this.buffered.push(e);
    const changed = this.applyEntity(e);
    this.advance();
    if (changed) {
      if (e.type === 'app' || e.type === 'policy') this.rebuildIndexes();
      this.generation++;
      for (const l of this.listeners) l(e);
    }
    return this.hasGap ? 'gap' : 'applied';
  }

  private advance(): void {
    const revs = new Set(this.buffered.map(revisionOf));
    while (revs.has(this.revision + 1)) this.revision++;
    this.buffered = this.buffered.filter((b) => revisionOf(b) > this.revision);
  }

  private applyEntity(e: ReplicaEvent): boolean {
    const rev = revisionOf(e);
    const id =
      e.type === 'token' ? e.payload.token.id : e.type === 'app' ? e.payload.app.id : e.type === 'policy' ? e.payload.policy.id : `organization:${e.payload.organization.accountId}`;
    const known = this.entityRevision.get(id);
    if (known !== undefined && known >= rev) return false;
    this.entityRevision.set(id, rev);
    if (e.type === 'token') {
      const old = this.tokens.get(id);
      if (old) this.byClientId.delete(old.clientId);
      if (e.payload.kind === 'deleted') this.tokens.delete(id);
      else {
        const t = toToken(e.payload.token);
        this.tokens.set(id, t);
        this.byClientId.set(t.clientId, t);
      }
    } else if (e.type === 'app') {
      if (e.payload.kind === 'deleted') {
        this.apps.delete(id);
        // Deleting an app deletes its policies (one event for both; see contracts/apps.ts).
        for (const [pid, p] of this.policies) if (p.appId === id) this.policies.delete(pid);
      } else this.apps.set(id, toApp(e.payload.app));
    } else if (e.type === 'organization') this.organizations.set(e.payload.organization.accountId, e.payload.organization);
    else if (e.payload.kind === 'deleted') this.policies.delete(id);
    else this.policies.set(id, e.payload.policy);
    return true;
  }

  private rebuildIndexes(): void {
    const byHost = new Map<string, ReplicaApp[]>();
    for (const app of this.apps.values()) {
      const list = byHost.get(app.host) ?? [];
      list.push(app);
      byHost.set(app.host, list);
    }
    for (const list of byHost.values()) list.sort((a, b) => b.pathPrefix.length - a.pathPrefix.length);
    this.appsByHost = byHost;
    this.appsByAud = new Map([...this.apps.values()].map((a) => [a.aud, a]));
    const ofApp = new Map<string, ReplicaPolicy[]>();
    for (const p of this.policies.values()) {
      const list = ofApp.get(p.appId) ?? [];
      list.push({ ...p, sessionDurationMs: null });
      ofApp.set(p.appId, list);
    }
    for (const list of ofApp.values()) list.sort(byPrecedence);
    this.policiesOfApp = ofApp;
  }
}
