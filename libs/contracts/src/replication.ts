import { z } from 'zod';
import { Application, Policy } from './apps.js';
import { Uuid } from './common.js';
import { Organization } from './organizations.js';
import { defineRpc, register } from './rpc.js';
import { VerifierToken } from './tokens.js';
import { TokenRows } from './token-rows.js';

/**
 * Revision-ordered incremental replication of what the token service owns (tokens, applications,
 * policies) to its replicas (gateways, notifiers). See docs/replication.md.
 *
 * Every replicated row carries the revision of the change that last wrote it, taken from a
 * sequence in the change's own transaction. Concurrent changes commit in any order, so the feed
 * serves records only up to its head, the *safe* revision below every one still in flight: "every
 * record after position P" up to the head never skips a commit.
 * Deletions leave a tombstone row with their revision. Records are ordered by
 * (revision, source, id); a page ends at a cursor, the next page starts after it. Core-NATS change
 * events are hints only: a replica that sees a gap, reconnects, or polls a newer head pulls.
 */
export const ReplicatedEntities = ['token', 'app', 'policy', 'organization'] as const;
export type ReplicatedEntity = (typeof ReplicatedEntities)[number];

/** Order of the record sources inside one revision (tombstones last). */
export const ChangeSources = ['token', 'app', 'policy', 'organization', 'tombstone'] as const;
/** The tombstones' source index: a cursor `[R, TOMBSTONE_SOURCE, LAST_ID]` is "after everything of R". */
export const TOMBSTONE_SOURCE = ChangeSources.length - 1;

/**
 * A position in the change order: [revision, source index (0..4), id]. An organization's id is its
 * account id (one per account; organizations are never deleted, so they leave no tombstone).
 */
export const ChangeCursor = z.tuple([z.number().int().min(-1), z.number().int().min(0).max(TOMBSTONE_SOURCE), Uuid]);
export type ChangeCursor = z.infer<typeof ChangeCursor>;

const Revision = z.number().int().min(0);
export const ChangeRecord = z.discriminatedUnion('type', [
  z.object({ type: z.literal('token'), revision: Revision, token: VerifierToken }),
  z.object({ type: z.literal('app'), revision: Revision, app: Application }),
  z.object({ type: z.literal('policy'), revision: Revision, policy: Policy }),
  z.object({ type: z.literal('organization'), revision: Revision, organization: Organization }),
  z.object({ type: z.literal('tombstone'), revision: Revision, entity: z.enum(ReplicatedEntities), id: Uuid }),
]);
export type ChangeRecord = z.infer<typeof ChangeRecord>;

/** Hard ceilings of one page, whatever a client asks: well below NATS's 256 KB design limit. */
export const MAX_PAGE_BYTES = 250_000;
export const MAX_PAGE_RECORDS = 2_000;
/** Room left in a NATS message for the reply envelope around a page's records. */
export const PAGE_ENVELOPE_BYTES = 2_048;

/**
 * "Changes after revision `since` (or after `after`, a cursor from the previous page), at most
 * `maxRecords` records and `maxBytes` bytes of JSON." `since: -1` means everything. `next` is null
 * when the page reached the end of the snapshot it was read in; `head` is that snapshot's revision.
 * `floor`: tombstones at or below it were purged; a replica behind it must reload from -1.
 */
export const ReplicaChanges = register(
  defineRpc({
    subject: 'replica.v2.changes',
    request: z.strictObject({
      since: z.number().int().min(-1),
      after: ChangeCursor.optional(),
      entities: z.array(z.enum(ReplicatedEntities)).min(1).optional(),
      maxRecords: z.number().int().min(1).max(MAX_PAGE_RECORDS).optional(),
      maxBytes: z.number().int().min(1_024).max(MAX_PAGE_BYTES).optional(),
    }),
    response: z.object({
      head: Revision,
      floor: Revision,
      records: z.array(ChangeRecord),
      next: ChangeCursor.nullable(),
    }),
  }),
);
export type ChangesRequest = z.input<typeof ReplicaChanges.request>;
export type ChangesPage = z.infer<typeof ReplicaChanges.response>;

/**
 * A token of a replica.v3 page, decoded (`TokenRows.row`): positional, dates as epoch milliseconds
 * (null: none), only what a replica reads. On the wire the rows are binary (./token-rows.ts).
 * [revision, id, accountId, name, clientId, duration, enabled, expiresAtMs, secretHash,
 *  clientSecretVersion, previousSecretHash, previousClientSecretExpiresAtMs]
 */
export type TokenRow = [
  revision: number,
  id: string,
  accountId: string,
  name: string,
  clientId: string,
  duration: string,
  enabled: boolean,
  expiresAtMs: number | null,
  secretHash: string,
  clientSecretVersion: number,
  previousSecretHash: string | null,
  previousClientSecretExpiresAtMs: number | null,
];

/**
 * replica.v2.changes with the page's tokens as binary rows in `tokens` (./token-rows.ts:
 * PostgreSQL writes them; the token service passes them on without parsing them), and every other
 * record as in v2. The reply travels as a frame with the rows' bytes after its JSON
 * (libs/nest-kit binary-reply.ts), not as base64 inside it.
 * Same request, cursor, head, floor and bounds (`maxBytes` counts the whole reply). replica.v2
 * stays for replicas of 0.2 during a rolling upgrade.
 */
export const ReplicaChangesCompact = register(
  defineRpc({
    subject: 'replica.v3.changes',
    request: ReplicaChanges.request,
    response: z.object({
      head: Revision,
      floor: Revision,
      records: z.array(ChangeRecord),
      /** The page's token rows (./token-rows.ts). */
      tokens: z.custom<Uint8Array>((v) => v instanceof Uint8Array, 'expected bytes'),
      next: ChangeCursor.nullable(),
    }),
  }),
);

/**
 * A page as a follower gets it: a v2 page, or a v3 page with its token rows still bytes. The
 * follower decodes them only when it applies the page: pages read ahead (three ranges, each a page
 * ahead) held as decoded rows outlived V8's young generation, and their promotion to the old one
 * was a third of a gateway's cold start in garbage collection.
 */
export interface FollowedPage extends ChangesPage {
  tokens?: Uint8Array;
}

/** A whole v3 page decoded (tests, tools). */
export function decodeCompactPage(page: z.infer<typeof ReplicaChangesCompact.response>): ChangesPage & { tokens: TokenRow[] } {
  return { head: page.head, floor: page.floor, records: page.records, next: page.next, tokens: TokenRows.decode(page.tokens).toArray() };
}

/** A token as a v3 row (the inverse of `tokenRecordOf`; a token service's test double, a change event). */
export function tokenRowOf(t: Omit<VerifierToken, 'createdAt' | 'updatedAt'>, revision: number): TokenRow {
  const ms = (iso: string | null) => (iso === null ? null : Date.parse(iso));
  return [
    revision,
    t.id,
    t.accountId,
    t.name,
    t.clientId,
    t.duration,
    t.enabled,
    ms(t.expiresAt),
    t.secretHash,
    t.clientSecretVersion,
    t.previousSecretHash,
    ms(t.previousClientSecretExpiresAt),
  ];
}

/** A v3 page's token row as the v2 record (tests, and replicas that take records only). */
export function tokenRecordOf(row: TokenRow): { revision: number; token: Omit<VerifierToken, 'createdAt' | 'updatedAt'> } {
  const [revision, id, accountId, name, clientId, duration, enabled, expiresAtMs, secretHash, clientSecretVersion, previousSecretHash, previousMs] = row;
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  return {
    revision,
    token: {
      id,
      accountId,
      name,
      clientId,
      duration,
      enabled,
      expiresAt: iso(expiresAtMs),
      secretHash,
      clientSecretVersion,
      previousSecretHash,
      previousClientSecretExpiresAt: iso(previousMs),
    },
  };
}

/** The current revision only: what an idle replica polls (O(1) on both sides). */
export const ReplicaHead = register(defineRpc({ subject: 'replica.v2.head', request: z.strictObject({}), response: z.object({ head: Revision }) }));

/** How a follower reaches the token service (an RpcClient in the services, a fake in tests). */
export interface ChangeSource {
  changes(request: ChangesRequest): Promise<FollowedPage>;
  head(): Promise<number>;
}

/** The copy being kept current. Each record is applied only if newer than what the copy holds. */
export interface ChangeSink {
  /** Revision the copy is complete to; -1 when empty. */
  watermark(): number;
  /** `tokens`: a v3 page's token rows, checked (empty for a v2 page). */
  apply(records: ChangeRecord[], tokens: TokenRows): void | Promise<void>;
  /** Every change up to `head` is applied. */
  caughtUp(head: number): void | Promise<void>;
  /** The copy is behind the purge floor: drop it; the follower reloads from -1. */
  reset(): void | Promise<void>;
}

export interface FollowerLog {
  log(msg: string): void;
  warn(msg: string): void;
}

export interface FollowerOptions {
  entities?: ReplicatedEntity[];
  /** Largest message the connection may send (the server's max_payload). */
  maxPayload: () => number;
  maxRecords?: number;
  /** How often an idle follower asks for the head revision. */
  pollMs: number;
  /** Wait before retrying a failed pull. */
  retryMs?: number;
  /**
   * A cold start (from -1) reads this many revision ranges at the same time (default 1). Only for
   * a sink whose `apply` may take pages in any order (it keeps the newest record per entity).
   */
  coldStartChains?: number;
  log: FollowerLog;
}

/** Services start in any order: until this long after start, a source not answering yet is no warning. */
export const STARTUP_GRACE_MS = 30_000;
/** Below this many revisions per range a cold start reads one range: splitting costs more than it saves. */
const COLD_CHAIN_MIN_REVISIONS = 5_000;

/** A cold start's revision range (ChangeFollower.range): its start, its end (lowered when split), where it is. */
interface ColdRange {
  from: number;
  to: number;
  at: number;
  done: boolean;
}
/** How soon a follower whose pull ended below a hinted revision pulls again. */
const WANTED_RETRY_MS = 20;

/**
 * Keeps a ChangeSink current: pages from its revision to the head on start, on a hint that shows
 * a newer revision, on a reconnect, and when the slow head poll sees one. One pull at a time;
 * triggers during a pull make it run once more. No full snapshot, ever.
 */
export class ChangeFollower {
  lastError: string | null = null;
  /** When the copy was last known current (a pull finished or the head matched). */
  lastSyncAt: number | null = null;
  private pulling: Promise<void> | null = null;
  private again = false;
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private isReady = false;
  private startedAt = 0;
  private readyResolve!: () => void;
  /** Highest revision a hint named: a pull that ends below it (a lower revision still in flight) looks again soon. */
  private wanted = -1;
  /** Resolves once the copy first caught up with the head. */
  readonly ready = new Promise<void>((r) => (this.readyResolve = r));

  constructor(
    private readonly source: ChangeSource,
    private readonly sink: ChangeSink,
    private readonly options: FollowerOptions,
  ) {}

  /** Starts following; resolves when caught up the first time (retrying until the source answers). */
  async start(): Promise<void> {
    this.stopped = false;
    this.startedAt = Date.now();
    void this.pull();
    this.schedule();
    await this.ready;
  }

  /** Stops the timer; resolves when a pull in flight ended (it stops after its current page). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.pulling;
  }

  /** A change event or status says the head may be at `revision` (undefined: unknown, e.g. reconnect). */
  hint(revision?: number): void {
    if (this.stopped) return;
    if (revision !== undefined && revision > this.wanted) this.wanted = revision;
    if (revision === undefined || revision > this.sink.watermark()) void this.pull();
  }

  /** Pulls until caught up; concurrent calls share the pull (and make it look once more). */
  pull(): Promise<void> {
    if (this.pulling) {
      this.again = true;
      return this.pulling;
    }
    this.pulling = (async () => {
      try {
        do {
          this.again = false;
          await this.catchUp();
        } while (this.again && !this.stopped);
        this.lastError = null;
        // The head stopped below a hinted revision: a lower one is still being committed (or
        // rolled back). It is usually milliseconds: look again shortly, not at the slow poll.
        if (this.wanted > this.sink.watermark() && !this.stopped) setTimeout(() => this.hint(), WANTED_RETRY_MS).unref?.();
      } catch (error) {
        this.lastError = (error as Error).message;
        if (this.stopped) return;
        const message = `Replication pull failed (${this.lastError}); retrying`;
        if (!this.isReady && Date.now() - this.startedAt < STARTUP_GRACE_MS) this.options.log.log(`${message} (starting up)`);
        else this.options.log.warn(message);
        this.schedule(this.options.retryMs ?? 500);
      } finally {
        this.pulling = null;
      }
    })();
    return this.pulling;
  }

  private async catchUp(): Promise<void> {
    const started = this.sink.watermark();
    let since = started;
    let count = 0;
    const chains = this.options.coldStartChains ?? 1;
    if (started < 0 && chains > 1) {
      // A cold start of a big copy: the revisions up to the head are split into `chains` ranges,
      // read at the same time (each range page after page). Every revision up to `head` has
      // committed (it is a safe revision), so the ranges together hold every record up to it;
      // what changes meanwhile moves to a higher revision, read by the pass from `head` below.
      // Records are applied in any order: the sink keeps the newest per entity.
      //
      // Ranges of equal revisions are not equal work (a fleet's apps and policies, JSON records
      // several times a token row's cost, sit together), so a chain whose range is done takes the
      // upper half of what is left of the biggest range still being read: no chain sits idle while
      // another reads alone.
      const head = await this.source.head();
      if (head >= chains * COLD_CHAIN_MIN_REVISIONS) {
        const bounds = [-1, ...Array.from({ length: chains - 1 }, (_, i) => Math.floor((head * (i + 1)) / chains)), head];
        const ranges: ColdRange[] = bounds.slice(0, -1).map((from, i) => ({ from, to: bounds[i + 1]!, at: from, done: false }));
        const chain = async (first: ColdRange): Promise<number> => {
          let n = await this.range(first);
          for (;;) {
            if (this.stopped) return n;
            const open = ranges.filter((r) => !r.done);
            const victim = open.reduce<ColdRange | undefined>((big, r) => (!big || r.to - r.at > big.to - big.at ? r : big), undefined);
            if (!victim || victim.to - victim.at < COLD_CHAIN_MIN_REVISIONS) return n;
            const mid = Math.floor((victim.at + victim.to) / 2);
            const taken: ColdRange = { from: mid, to: victim.to, at: mid, done: false };
            victim.to = mid;
            ranges.push(taken);
            n += await this.range(taken);
          }
        };
        const counts = await Promise.all(ranges.slice().map(chain));
        if (this.stopped) return;
        count = counts.reduce((a, b) => a + b, 0);
        since = head;
      }
    }
    let pending = this.page(since);
    for (;;) {
      const page = await pending;
      if (since >= 0 && since < page.floor) {
        this.options.log.warn(`Replica at revision ${since} is behind the tombstone floor ${page.floor}: reloading`);
        await this.sink.reset();
        since = -1;
        pending = this.page(since);
        continue;
      }
      // The next page is asked for before this one is applied: the source reads it meanwhile.
      if (page.next && !this.stopped) pending = this.prefetch(since, page.next);
      count += await this.applyPage(page);
      if (!page.next) {
        await this.sink.caughtUp(page.head);
        this.lastSyncAt = Date.now();
        if (count > 0 || started < 0) this.options.log.log(`Replica caught up from revision ${started} to ${page.head} (${count} records)`);
        this.isReady = true;
        this.readyResolve();
        return;
      }
      if (this.stopped) return;
    }
  }

  /**
   * Every record with a revision in (r.from, r.to] (and perhaps a few past it); returns how many
   * were applied. `r.to` may be lowered meanwhile (another chain took the rest); `r.at` is where
   * the page in flight starts.
   */
  private async range(r: ColdRange): Promise<number> {
    let count = 0;
    let pending = this.page(r.from);
    try {
      for (;;) {
        const page = await pending;
        // Records at `to` itself belong to this range: the next one starts after every record of `to`.
        const more = !!page.next && page.next[0] <= r.to && !this.stopped;
        if (more) {
          r.at = page.next![0];
          pending = this.prefetch(r.from, page.next!);
        } else r.done = true; // read to its end: nothing left to take while its last page is applied
        count += await this.applyPage(page);
        if (!more) return count;
      }
    } finally {
      r.done = true;
    }
  }

  /** Hands a page's records to the sink; returns how many. */
  private async applyPage(page: FollowedPage): Promise<number> {
    const tokens = page.tokens ? TokenRows.decode(page.tokens) : TokenRows.EMPTY;
    if (page.records.length || tokens.length) await this.sink.apply(page.records, tokens);
    return page.records.length + tokens.length;
  }

  private page(since: number, after?: ChangeCursor): Promise<FollowedPage> {
    const maxBytes = Math.max(1_024, Math.min(MAX_PAGE_BYTES, this.options.maxPayload() - PAGE_ENVELOPE_BYTES));
    return this.source.changes({
      since,
      ...(after ? { after } : {}),
      ...(this.options.entities ? { entities: this.options.entities } : {}),
      ...(this.options.maxRecords ? { maxRecords: this.options.maxRecords } : {}),
      maxBytes,
    });
  }

  /** A page asked for ahead: awaited on the next turn; a stop may leave it unawaited. */
  private prefetch(since: number, after: ChangeCursor): Promise<FollowedPage> {
    const p = this.page(since, after);
    p.catch(() => undefined);
    return p;
  }

  private schedule(ms = this.options.pollMs): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.poll(), ms);
    this.timer.unref?.();
  }

  /** The slow timer: one small request; a pull only if the head moved. */
  private async poll(): Promise<void> {
    try {
      if (this.pulling) await this.pulling;
      else if (!this.isReady) await this.pull();
      else {
        const head = await this.source.head();
        if (head > this.sink.watermark()) await this.pull();
        else this.lastSyncAt = Date.now();
        this.lastError = null;
      }
    } catch (error) {
      this.lastError = (error as Error).message;
    } finally {
      if (!this.pulling) this.schedule(this.lastError ? (this.options.retryMs ?? 500) : this.options.pollMs);
    }
  }
}
