import { uuidText, type Policy, type PolicyRule } from '@gatehouse/contracts';
import { SlotIndex, StringTable, fnv, sameBytes, uuidBytes } from './slot-index.js';

/** A policy as the gateway evaluates it: an app-scoped one, or a linked reusable one. */
export interface ReplicaPolicy extends Policy {
  /** Revision of the change that last set it (a linked policy: its app's). */
  revision: number;
  /** The policy's own session duration (reusable policies only); null: the app's. */
  sessionDurationMs: number | null;
}

const ID_BYTES = 16;
/** Rule kinds in a policy's rule text. */
const SERVICE_TOKEN = 1;
const ANY_VALID = 2;
/** A rule list's length is two bytes. */
const MAX_RULES = 0xffff;
const NO_RULES: PolicyRule[] = Object.freeze([]) as unknown as PolicyRule[];
const UPPER_HEX = /[A-F]/;

/**
 * A policy's three rule lists as one flat one-byte string: per list its length (2 bytes), then each
 * rule's kind (1 byte) and, for a service token, the token id's 16 bytes. 23 characters for the
 * usual one-token policy instead of ~180 bytes of arrays and objects. Null for what it cannot hold
 * (the caller keeps the lists as they came).
 */
function encodeRules(lists: PolicyRule[][]): string | null {
  let bytes = 0;
  for (const list of lists) {
    if (list.length > MAX_RULES) return null;
    bytes += 2;
    for (const rule of list) bytes += 'serviceToken' in rule ? 1 + ID_BYTES : 1;
  }
  const out = Buffer.allocUnsafe(bytes);
  let at = 0;
  for (const list of lists) {
    at = out.writeUInt16BE(list.length, at);
    for (const rule of list) {
      if ('serviceToken' in rule) {
        out[at++] = SERVICE_TOKEN;
        // Only the lower-case form reads back as written: another one is kept as it came (it
        // names no token of the store, whose ids are lower case; a rule is never rewritten).
        if (UPPER_HEX.test(rule.serviceToken.tokenId) || !uuidBytes(rule.serviceToken.tokenId, out, at)) return null;
        at += ID_BYTES;
      } else if ('anyValidServiceToken' in rule) out[at++] = ANY_VALID;
      else return null;
    }
  }
  // Built from bytes: one sequential string (concatenation would hold a tree of pieces).
  return out.toString('latin1');
}

/** The three lists of `encodeRules` text. */
function decodeRules(text: string): [PolicyRule[], PolicyRule[], PolicyRule[]] {
  const b = Buffer.from(text, 'latin1');
  const lists: PolicyRule[][] = [];
  let at = 0;
  for (let l = 0; l < 3; l++) {
    const n = b.readUInt16BE(at);
    at += 2;
    if (n === 0) {
      lists.push(NO_RULES);
      continue;
    }
    const list: PolicyRule[] = [];
    for (let k = 0; k < n; k++) {
      if (b[at++] === SERVICE_TOKEN) {
        list.push({ serviceToken: { tokenId: uuidText(b, at) } });
        at += ID_BYTES;
      } else list.push({ anyValidServiceToken: {} });
    }
    lists.push(list);
  }
  return lists as [PolicyRule[], PolicyRule[], PolicyRule[]];
}

/**
 * The gateway's app-scoped policies in columns (docs/replication.md, "Gateway memory"): 50,000
 * policies as objects, each with its id, rules, dates and name, held ~470 bytes each. Ids are 16
 * bytes (an open-addressing index finds them), dates numbers, rules one short string, account and
 * app ids shared strings. `view` builds the Policy object a decision reads (the replica caches them
 * per application).
 */
export class PolicyStore {
  private count = 0;
  private slots = 0; // high-water mark
  private free: number[] = [];
  private ids = Buffer.alloc(0);
  private accounts = new Uint32Array(0);
  private precedences = new Int32Array(0);
  private created = new Float64Array(0);
  /** NaN: the same as `created` (most policies were never updated). */
  private updated = new Float64Array(0);
  private revisions = new Float64Array(0);
  /** The app's id string (the app's own when it is held): the per-app index and app deletions read it. */
  private appIds: string[] = [];
  private names: string[] = [];
  /** `encodeRules` text, or the lists as they came (what it cannot hold). */
  private rules: Array<string | [PolicyRule[], PolicyRule[], PolicyRule[]]> = [];
  private readonly accountIds = new StringTable();
  private readonly scratch = Buffer.alloc(ID_BYTES);
  private readonly byId = new SlotIndex({
    hashOf: (s) => fnv(this.ids, s * ID_BYTES, ID_BYTES),
    matches: (s, key, len) => len === ID_BYTES && sameBytes(this.ids, s * ID_BYTES, key, 0, ID_BYTES),
  });

  get size(): number {
    return this.count;
  }

  /** Whether a policy with this id can be held: policy ids are UUIDs (the contracts check them). */
  fits(id: string): boolean {
    return uuidBytes(id, this.scratch, 0);
  }

  revisionOf(id: string): number | undefined {
    const slot = this.slotOf(id);
    return slot < 0 ? undefined : this.revisions[slot];
  }

  /** Sets (adds or replaces) a policy of the app whose id string is `appId`. */
  set(p: Policy, revision: number, appId: string): void {
    let slot = this.slotOf(p.id);
    if (slot < 0) {
      if (!uuidBytes(p.id, this.scratch, 0)) throw new Error(`policy id ${p.id} is not a UUID`);
      slot = this.allocate();
      this.scratch.copy(this.ids, slot * ID_BYTES);
      this.byId.insert(slot);
      this.count++;
    }
    this.accounts[slot] = this.accountIds.indexOf(p.accountId);
    this.precedences[slot] = p.precedence;
    const created = Date.parse(p.createdAt);
    this.created[slot] = created;
    this.updated[slot] = p.updatedAt === p.createdAt ? NaN : Date.parse(p.updatedAt);
    this.revisions[slot] = revision;
    this.appIds[slot] = appId;
    this.names[slot] = p.name;
    const lists: [PolicyRule[], PolicyRule[], PolicyRule[]] = [p.include, p.require, p.exclude];
    this.rules[slot] = encodeRules(lists) ?? lists;
  }

  delete(id: string): boolean {
    const slot = this.slotOf(id);
    if (slot < 0) return false;
    this.release(slot);
    return true;
  }

  /** Deletes every policy of the app (deleting an app deletes its policies). */
  deleteOfApp(appId: string): void {
    for (let s = 0; s < this.slots; s++) if (this.appIds[s] === appId) this.release(s);
  }

  /** Calls `fn` with each policy's slot and app id. */
  forEach(fn: (slot: number, appId: string) => void): void {
    for (let s = 0; s < this.slots; s++) {
      const appId = this.appIds[s];
      if (appId !== undefined) fn(s, appId);
    }
  }

  /** Precedence order of two slots: precedence, creation, then id (the token service's order). */
  compare(a: number, b: number): number {
    return (
      this.precedences[a]! - this.precedences[b]! ||
      this.created[a]! - this.created[b]! ||
      this.ids.compare(this.ids, b * ID_BYTES, (b + 1) * ID_BYTES, a * ID_BYTES, (a + 1) * ID_BYTES)
    );
  }

  /** The policy in `slot` as a Policy object (a new one each time). */
  view(slot: number): ReplicaPolicy {
    const rules = this.rules[slot]!;
    const [include, require, exclude] = typeof rules === 'string' ? decodeRules(rules) : rules;
    const createdAt = new Date(this.created[slot]!).toISOString();
    const updated = this.updated[slot]!;
    return {
      id: uuidText(this.ids, slot * ID_BYTES),
      accountId: this.accountIds.at(this.accounts[slot]!),
      appId: this.appIds[slot]!,
      name: this.names[slot]!,
      decision: 'non_identity',
      precedence: this.precedences[slot]!,
      include,
      require,
      exclude,
      createdAt,
      updatedAt: Number.isNaN(updated) ? createdAt : new Date(updated).toISOString(),
      revision: this.revisions[slot]!,
      sessionDurationMs: null,
    };
  }

  private slotOf(id: string): number {
    if (!uuidBytes(id, this.scratch, 0)) return -1;
    return this.byId.find(this.scratch, ID_BYTES);
  }

  private release(slot: number): void {
    this.byId.remove(slot);
    this.ids.fill(0, slot * ID_BYTES, (slot + 1) * ID_BYTES);
    this.appIds[slot] = undefined as unknown as string;
    this.names[slot] = undefined as unknown as string;
    this.rules[slot] = undefined as unknown as string;
    this.free.push(slot);
    this.count--;
  }

  private allocate(): number {
    const reused = this.free.pop();
    if (reused !== undefined) return reused;
    if (this.slots === this.revisions.length) this.grow(Math.max(1024, this.slots * 2));
    return this.slots++;
  }

  private grow(capacity: number): void {
    const ids = Buffer.alloc(capacity * ID_BYTES);
    this.ids.copy(ids);
    this.ids = ids;
    const more = <T extends Uint32Array | Int32Array | Float64Array>(old: T, make: (n: number) => T): T => {
      const next = make(capacity);
      next.set(old);
      return next;
    };
    this.accounts = more(this.accounts, (n) => new Uint32Array(n));
    this.precedences = more(this.precedences, (n) => new Int32Array(n));
    this.created = more(this.created, (n) => new Float64Array(n));
    this.updated = more(this.updated, (n) => new Float64Array(n));
    this.revisions = more(this.revisions, (n) => new Float64Array(n));
  }
}
