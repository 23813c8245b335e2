import {
  parseDuration,
  type AppChanged,
  type Application,
  type ChangeRecord,
  type ChangeSink,
  type LinkedPolicy,
  type Organization,
  type OrganizationChanged,
  type Policy,
  type PolicyChanged,
  type TokenChanged,
  TokenRows,
} from '@gatehouse/contracts';
import { canonicalHost, canonicalTarget } from '../gateway/path.js';
import { PolicyStore, type ReplicaPolicy } from './policy-store.js';
import { TokenStore, type ReplicaToken } from './token-store.js';

export type { ReplicaPolicy } from './policy-store.js';
export type { ReplicaToken } from './token-store.js';

export interface ReplicaApp extends Application {
  revision: number;
  host: string;
  /** '' for the whole host, else '/prefix' (no trailing slash). */
  pathPrefix: string;
  sessionDurationMs: number;
  sessionsRevokedAtMs: number | null;
  upstreamUrl: URL | null;
  /** The linked reusable policies as Policy records of this app, in precedence order. */
  linked: ReplicaPolicy[];
}

export type ReplicaEvent =
  | { type: 'token'; payload: TokenChanged }
  | { type: 'app'; payload: AppChanged }
  | { type: 'policy'; payload: PolicyChanged }
  | { type: 'organization'; payload: OrganizationChanged };

type VersionedOrganization = Organization & { revision: number };

const DEFAULT_SESSION_MS = 24 * 3_600_000;
/** Where a path prefix ends: `/`, `.`, or the end of the path. */
const PREFIX_END = new Set([0x2f, 0x2e]);

function durationMs(value: string | null, fallback: number | null): number | null {
  if (!value) return fallback;
  try {
    return parseDuration(value) ?? fallback;
  } catch {
    return fallback; // the token service validated it; keep the fallback if not
  }
}

/** A linked reusable policy, evaluated exactly like an app-scoped one (see contracts `policyAdmits`). */
function toLinked(a: Application, p: LinkedPolicy, revision: number): ReplicaPolicy {
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
    revision,
    sessionDurationMs: durationMs(p.sessionDuration, null),
  };
}

/** Shared by every app without tags or linked policies (most have none). */
const NO_TAGS: Application['tags'] = Object.freeze([]) as unknown as Application['tags'];
const NO_LINKED: Application['linkedPolicies'] = Object.freeze([]) as unknown as Application['linkedPolicies'];
const NO_LINKED_POLICIES: ReplicaPolicy[] = Object.freeze([]) as unknown as ReplicaPolicy[];
/** Apps whose policies are held as objects at once (a decision's own app's: the rest are rebuilt on use). */
const POLICY_VIEW_APPS = 4_096;

/**
 * One string per value of a field with few values (a decision, an app type, a session duration):
 * 60,000 apps and policies held a copy each. Bounded: past COMMON_MAX values it keeps the copy.
 */
const COMMON_MAX = 1_000;
const commonValues = new Map<string, string>();
function common<T extends string>(value: T): T {
  const held = commonValues.get(value);
  if (held !== undefined) return held as T;
  if (commonValues.size < COMMON_MAX) commonValues.set(value, value);
  return value;
}

/** A record's `updatedAt`: its `createdAt` string when equal (never updated: most records). */
const updatedAtOf = (r: { createdAt: string; updatedAt: string }) => (r.updatedAt === r.createdAt ? r.createdAt : r.updatedAt);

const byPrecedence = (a: Policy, b: Policy) => a.precedence - b.precedence || a.createdAt.localeCompare(b.createdAt);

function toApp(a: Application, revision: number): ReplicaApp {
  const slash = a.domain.indexOf('/');
  const host = (slash < 0 ? a.domain : a.domain.slice(0, slash)).toLowerCase();
  const pathPrefix = slash < 0 ? '' : a.domain.slice(slash).replace(/\/+$/, '');
  const sessionDurationMs = durationMs(a.sessionDuration, DEFAULT_SESSION_MS)!;
  let upstreamUrl: URL | null;
  try {
    upstreamUrl = a.upstream ? new URL(a.upstream) : null;
  } catch {
    upstreamUrl = null;
  }
  return {
    ...a,
    type: common(a.type),
    sessionDuration: common(a.sessionDuration),
    tags: a.tags.length ? a.tags : NO_TAGS,
    linkedPolicies: a.linkedPolicies.length ? a.linkedPolicies : NO_LINKED,
    updatedAt: updatedAtOf(a),
    revision,
    host: host === a.domain ? a.domain : host,
    pathPrefix,
    sessionDurationMs,
    sessionsRevokedAtMs: a.sessionsRevokedAt ? Date.parse(a.sessionsRevokedAt) : null,
    upstreamUrl,
    linked: a.linkedPolicies.length ? a.linkedPolicies.map((p) => toLinked(a, p, revision)).sort(byPrecedence) : NO_LINKED_POLICIES,
  };
}

/** A change event as the record it carries (events are hints that happen to carry the record). */
function recordOf(e: ReplicaEvent): ChangeRecord {
  const revision = e.payload.revision;
  if (e.type === 'token')
    return e.payload.kind === 'deleted'
      ? { type: 'tombstone', entity: 'token', id: e.payload.token.id, revision }
      : { type: 'token', revision, token: e.payload.token };
  if (e.type === 'app')
    return e.payload.kind === 'deleted' ? { type: 'tombstone', entity: 'app', id: e.payload.app.id, revision } : { type: 'app', revision, app: e.payload.app };
  if (e.type === 'organization') return { type: 'organization', revision, organization: e.payload.organization };
  return e.payload.kind === 'deleted'
    ? { type: 'tombstone', entity: 'policy', id: e.payload.policy.id, revision }
    : { type: 'policy', revision, policy: e.payload.policy };
}

/**
 * The gateway's in-memory copy of tokens (hashes only), applications and policies, fed by the
 * revision-ordered change feed (a ChangeSink for the ChangeFollower) and by change events.
 *
 * `revision` is the watermark: every change up to it has been applied. Each entity remembers the
 * revision that last set it, and deletions leave a tombstone until the watermark passes them, so
 * a record is applied at once even when it arrives out of order (revocations must not wait) and
 * an older state never overwrites a newer one.
 */
export class Replica implements ChangeSink {
  revision = -1;
  /** Bumped on every change: caches of derived decisions compare it. */
  generation = 0;
  lastSyncAt: number | null = null;
  private tokens = new TokenStore();
  private apps = new Map<string, ReplicaApp>();
  private policies = new PolicyStore();
  /** Each app's policy slots in precedence order. */
  private policiesOfApp = new Map<string, number[]>();
  /** Each app's policies as objects, built on first use after the indexes were built (bounded). */
  private policyViews = new Map<string, ReplicaPolicy[]>();
  /** By account id. */
  private organizations = new Map<string, VersionedOrganization>();
  private appsByHost = new Map<string, ReplicaApp[]>();
  private appsByAud = new Map<string, ReplicaApp>();
  private tombstones = new Map<string, number>();
  private isLoaded = false;
  /** Apps or policies changed since the indexes were last built (only while loading). */
  private indexesStale = false;
  private listeners: Array<(e: ReplicaEvent | null) => void> = [];
  private canonicalPrefixes = new WeakMap<ReplicaApp, string | null>();
  /** Highest revision seen (in an event or a page) but not yet covered by the watermark. */
  private seen = -1;

  /** True once the copy first caught up with the token service's head. */
  get loaded(): boolean {
    return this.isLoaded;
  }

  /** How many revisions beyond the watermark have been seen but not applied in order: 0 when current. */
  get revisionLag(): number {
    return Math.max(0, this.seen - this.revision);
  }

  onChange(listener: (e: ReplicaEvent | null) => void): void {
    this.listeners.push(listener);
  }

  tokenByClientId(clientId: string): ReplicaToken | undefined {
    return this.tokens.byClient(clientId);
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
    const inline = this.inlinePolicies(appId);
    const linked = this.apps.get(appId)?.linked ?? [];
    if (!linked.length) return inline;
    if (!inline.length) return linked;
    return [...inline, ...linked].sort(byPrecedence);
  }

  /** The app's own policies as objects (cached until the indexes change). */
  private inlinePolicies(appId: string): ReplicaPolicy[] {
    const held = this.policyViews.get(appId);
    if (held) return held;
    const slots = this.policiesOfApp.get(appId);
    if (!slots) return NO_LINKED_POLICIES;
    const views = slots.map((slot) => this.policies.view(slot));
    if (this.policyViews.size >= POLICY_VIEW_APPS) this.policyViews.clear();
    this.policyViews.set(appId, views);
    return views;
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

  // ChangeSink: what the follower calls.
  watermark(): number {
    return this.revision;
  }

  /** Applies a page of records and v3 token rows (each only if newer than what is held). */
  apply(records: ChangeRecord[], tokens: TokenRows = TokenRows.EMPTY): void {
    // A page is applied whole or not at all: a token the store cannot keep (only a compromised
    // peer sends one) refuses the page before anything of it is applied.
    for (let i = 0; i < tokens.length; i++) if (!this.tokens.fitsRow(tokens, i)) throw new Error(`replica page refused: token ${tokens.id(i)} cannot be kept`);
    for (const r of records) {
      if (r.type === 'token' && !this.tokens.fits(r.token.name)) throw new Error(`replica page refused: token ${r.token.id} cannot be kept`);
      if (r.type === 'policy' && !this.policies.fits(r.policy.id)) throw new Error(`replica page refused: policy ${r.policy.id} cannot be kept`);
    }
    let changed = false;
    let indexes = false;
    // A token's id is no app's or policy's: only its own revision and a tombstone can be newer.
    const tombstones = this.tombstones.size > 0;
    for (let i = 0; i < tokens.length; i++) {
      if (tombstones) {
        const dead = this.tombstones.get(tokens.id(i));
        if (dead !== undefined && dead >= tokens.revision(i)) continue;
      }
      if (this.tokens.setRowIfNewer(tokens, i)) changed = true;
    }
    for (const r of records) {
      if (this.applyRecord(r)) {
        changed = true;
        if (r.type === 'app' || r.type === 'policy' || (r.type === 'tombstone' && (r.entity === 'app' || r.entity === 'policy'))) indexes = true;
      }
    }
    // Until first loaded nothing is served: the app and policy indexes are built once, at the end
    // of the load (rebuilding them for each of hundreds of pages cost time and garbage).
    if (indexes) this.indexesStale = true;
    if (this.indexesStale && this.isLoaded) this.rebuildIndexes();
    if (changed) this.changed(null);
  }

  caughtUp(head: number, now = Date.now()): void {
    this.lastSyncAt = now;
    if (head > this.revision) this.revision = head;
    for (const [id, rev] of this.tombstones) if (rev <= this.revision) this.tombstones.delete(id);
    if (!this.isLoaded) {
      this.isLoaded = true;
      if (this.indexesStale) this.rebuildIndexes();
      this.changed(null);
    }
  }

  /** Behind the feed's tombstone floor: forget everything (the follower reloads from -1). */
  reset(): void {
    this.tokens = new TokenStore();
    this.apps = new Map();
    this.policies = new PolicyStore();
    this.organizations = new Map();
    this.tombstones = new Map();
    this.revision = -1;
    this.rebuildIndexes();
  }

  /**
   * Applies a change event at once. Returns 'stale' (already known), 'applied' (the next revision:
   * the watermark moves), or 'gap' (applied, but revisions are missing: pull).
   */
  applyEvent(e: ReplicaEvent): 'stale' | 'applied' | 'gap' {
    const rev = e.payload.revision;
    if (this.isLoaded && rev <= this.revision) return 'stale';
    if (rev > this.seen) this.seen = rev;
    const r = recordOf(e);
    if (this.applyRecord(r)) {
      if (e.type === 'app' || e.type === 'policy') this.rebuildIndexes();
      this.changed(e);
    }
    if (this.isLoaded && rev === this.revision + 1) {
      this.revision = rev;
      this.tombstones.delete(r.type === 'tombstone' ? r.id : '');
      return 'applied';
    }
    return 'gap';
  }

  private changed(e: ReplicaEvent | null): void {
    this.generation++;
    for (const l of this.listeners) l(e);
  }

  private known(id: string): number | undefined {
    return this.tokens.revisionOf(id) ?? this.apps.get(id)?.revision ?? this.policies.revisionOf(id) ?? this.tombstones.get(id);
  }

  private recordId(r: ChangeRecord): string {
    if (r.type === 'token') return r.token.id;
    if (r.type === 'app') return r.app.id;
    if (r.type === 'policy') return r.policy.id;
    if (r.type === 'organization') return r.organization.accountId;
    return r.id;
  }

  private applyRecord(r: ChangeRecord): boolean {
    if (r.type === 'organization') {
      // Keyed by account (a separate id space): organizations are never deleted, so no tombstone.
      const held = this.organizations.get(r.organization.accountId);
      if (held && held.revision >= r.revision) return false;
      this.organizations.set(r.organization.accountId, { ...r.organization, revision: r.revision });
      return true;
    }
    const id = this.recordId(r);
    const known = this.known(id);
    if (known !== undefined && known >= r.revision) return false;
    if (r.type === 'token') this.tokens.set(r.token, r.revision);
    else if (r.type === 'app') this.apps.set(id, toApp(r.app, r.revision));
    else if (r.type === 'policy') this.policies.set(r.policy, r.revision, this.apps.get(r.policy.appId)?.id ?? r.policy.appId);
    else {
      this.tombstones.set(id, r.revision);
      if (r.entity === 'token') this.tokens.delete(id);
      else if (r.entity === 'app') {
        this.apps.delete(id);
        // Deleting an app deletes its policies (one event for both; see contracts/apps.ts).
        this.policies.deleteOfApp(id);
      } else this.policies.delete(id);
    }
    return true;
  }

  private rebuildIndexes(): void {
    this.indexesStale = false;
    const byHost = new Map<string, ReplicaApp[]>();
    for (const app of this.apps.values()) {
      const list = byHost.get(app.host);
      if (list) list.push(app);
      else byHost.set(app.host, [app]);
    }
    // Sorted copies are as long as their lists: a pushed-to array keeps room for ~17 (10,000
    // one-app hosts and 10,000 apps' policy lists held ~3 MB of it).
    for (const [host, list] of byHost) byHost.set(host, list.length === 1 ? list : list.sort((a, b) => b.pathPrefix.length - a.pathPrefix.length).slice());
    this.appsByHost = byHost;
    this.appsByAud = new Map([...this.apps.values()].map((a) => [a.aud, a]));
    const ofApp = new Map<string, number[]>();
    this.policies.forEach((slot, appId) => {
      const list = ofApp.get(appId);
      if (list) list.push(slot);
      else ofApp.set(appId, [slot]);
    });
    for (const [appId, list] of ofApp) ofApp.set(appId, list.length === 1 ? list : list.sort((a, b) => this.policies.compare(a, b)).slice());
    this.policiesOfApp = ofApp;
    this.policyViews = new Map();
  }
}
