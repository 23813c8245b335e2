import { NIBBLE, SlotIndex, StringTable, fnv, sameBytes, uuidBytes } from './slot-index.js';
import { TOKEN_FIELD, TOKEN_ROW_FLAGS, TokenRows, tokenRowOf, uuidText, type TokenRow, type VerifierToken } from '@gatehouse/contracts';

/**
 * What the gateway keeps of a token: only what a decision reads. A plain object, built from the
 * store on a lookup (and kept in a bounded cache), never held per token.
 */
export interface ReplicaToken {
  id: string;
  accountId: string;
  name: string;
  clientId: string;
  enabled: boolean;
  /**
   * The first VERIFIER_BYTES of the stored secret hash (HMAC-SHA256), as hex: what the gateway
   * compares a presented secret's HMAC with (docs/security.md, "What the gateway keeps"). '' when
   * the stored hash was not 64 hex digits: it matches nothing.
   */
  secretVerifier: string;
  clientSecretVersion: number;
  /** The same of the previous secret's hash, inside a rotation's grace period; null when none. */
  previousSecretVerifier: string | null;
  /** Revision of the change that last set it. */
  revision: number;
  expiresAtMs: number | null;
  previousExpiresAtMs: number | null;
}

const ID_BYTES = 16;
/** A stored secret hash: HMAC-SHA256, 64 hex digits in a row. */
const HASH_BYTES = 32;
/**
 * What the gateway keeps of it: the first 128 bits, as RFC 2104 section 5 allows (no less than half
 * the hash's output). Matching them without the key takes 2^128 guesses; they cost 16 bytes a token
 * instead of 32 (15 MiB of a million-token gateway's memory).
 */
export const VERIFIER_BYTES = 16;
/** A client id the token service generates, `<32 lower-case hex digits>.access`, is kept as its 16 bytes. */
const KEY_BYTES = 16;
const CLIENT_ID_SUFFIX = '.access';
const LIVE = 1;
const ENABLED = 2;
/** The stored hash was not 64 hex digits: it matches nothing (the token service never sends one). */
const BAD_HASH = 4;
/** The client id is the 16 bytes in `clientKeys` (else text in `textClientIds`). */
const COMPACT_CLIENT = 8;
/** Revisions up to 2^32 - 2 fit their column; a higher one (a feed four billion changes old) sits in a map. */
const REVISION_ABOVE = 0xffffffff;
/** A heap string's length is 2 bytes. */
const MAX_STRING_BYTES = 0xffff;
/** Lookups served from materialised objects (a hot token costs no allocation). */
const VIEW_CACHE = 20_000;

/** Slots per chunk: every column of a chunk is one allocation of CHUNK_SLOTS × 91 bytes. */
const CHUNK_BITS = 14;
const CHUNK_SLOTS = 1 << CHUNK_BITS;
const SLOT_MASK = CHUNK_SLOTS - 1;
/** Names: UTF-8 in 1 MB heap chunks (a string never spans two). */
const HEAP_BITS = 20;
const HEAP_CHUNK = 1 << HEAP_BITS;

/** The columns of CHUNK_SLOTS tokens, as views of one ArrayBuffer. */
class Chunk {
  /** REVISION_ABOVE: the revision is in `bigRevisions`. */
  readonly revisions: Uint32Array;
  readonly expires: Float64Array;
  readonly accounts: Uint32Array;
  readonly nameAt: Uint32Array;
  readonly versions: Int32Array;
  readonly nameLen: Uint16Array;
  readonly flags: Uint8Array;
  readonly ids: Buffer;
  readonly verifiers: Buffer;
  readonly clientKeys: Buffer;

  constructor() {
    const n = CHUNK_SLOTS;
    const b = new ArrayBuffer(n * (8 + 4 + 4 + 4 + 4 + 2 + 1 + ID_BYTES + VERIFIER_BYTES + KEY_BYTES));
    let at = 0;
    const take = <T>(make: (buf: ArrayBuffer, at: number, n: number) => T, bytes: number): T => {
      const v = make(b, at, n);
      at += n * bytes;
      return v;
    };
    this.expires = take((x, o, k) => new Float64Array(x, o, k), 8);
    this.accounts = take((x, o, k) => new Uint32Array(x, o, k), 4);
    this.revisions = take((x, o, k) => new Uint32Array(x, o, k), 4);
    this.nameAt = take((x, o, k) => new Uint32Array(x, o, k), 4);
    this.versions = take((x, o, k) => new Int32Array(x, o, k), 4);
    this.nameLen = take((x, o, k) => new Uint16Array(x, o, k), 2);
    this.flags = take((x, o, k) => new Uint8Array(x, o, k), 1);
    this.ids = take((x, o, k) => Buffer.from(x, o, k * ID_BYTES), ID_BYTES);
    this.verifiers = take((x, o, k) => Buffer.from(x, o, k * VERIFIER_BYTES), VERIFIER_BYTES);
    this.clientKeys = take((x, o, k) => Buffer.from(x, o, k * KEY_BYTES), KEY_BYTES);
  }
}

/**
 * Decodes `2 × n` hex digits of `src` at `from` into `n` bytes of `into` at `at` (either case, or
 * lower case only); false (stopped part way) if any is not a hex digit.
 */
function hexBytes(src: Buffer, from: number, n: number, into: Buffer, at: number, lowerOnly: boolean): boolean {
  for (let k = 0; k < n; k++) {
    const a = src[from + 2 * k]!;
    const b = src[from + 2 * k + 1]!;
    const hi = a < 128 ? NIBBLE[a]! : -1;
    const lo = b < 128 ? NIBBLE[b]! : -1;
    if (hi < 0 || lo < 0 || (lowerOnly && ((a >= 0x41 && a <= 0x46) || (b >= 0x41 && b <= 0x46)))) return false;
    into[at + k] = (hi << 4) | lo;
  }
  return true;
}

/** The UTF-8 of CLIENT_ID_SUFFIX. */
const SUFFIX_BYTES = Buffer.from(CLIENT_ID_SUFFIX);

/** A generated client id's 16 bytes from its `len` UTF-8 bytes at `from`; false for any other client id. */
function compactClientIdBytes(src: Buffer, from: number, len: number, into: Buffer, at: number): boolean {
  if (len !== KEY_BYTES * 2 + SUFFIX_BYTES.length || !sameBytes(src, from + KEY_BYTES * 2, SUFFIX_BYTES, 0, SUFFIX_BYTES.length)) return false;
  // Lower-case only: the id reads back as written.
  return hexBytes(src, from, KEY_BYTES, into, at, true);
}

/** Writes a generated client id's 16 bytes at `at`; false (nothing meaningful written) for any other client id. */
function compactClientId(clientId: string, into: Buffer, at: number): boolean {
  if (clientId.length !== KEY_BYTES * 2 + CLIENT_ID_SUFFIX.length || !clientId.endsWith(CLIENT_ID_SUFFIX)) return false;
  for (let k = 0; k < KEY_BYTES * 2; k++) {
    const ch = clientId.charCodeAt(k);
    if (!((ch >= 0x30 && ch <= 0x39) || (ch >= 0x61 && ch <= 0x66))) return false; // lower-case only: the id reads back as written
  }
  // Hex decoding stops at the '.' after the 32 digits.
  return into.write(clientId, at, KEY_BYTES, 'hex') === KEY_BYTES;
}

/** Where a string of the heap is: its chunk and the offset inside it. */
const heapChunkOf = (at: number) => at >>> HEAP_BITS;
const heapOffsetOf = (at: number) => at & (HEAP_CHUNK - 1);

/**
 * Every token of the replica in columns (typed arrays and byte slabs indexed by a slot number)
 * instead of an object and four strings per token (docs/replication.md, "Gateway memory").
 * Columns grow by fixed chunks that are never copied or freed (growing by copying left the freed
 * arrays as malloc fragmentation: ~2× the RSS). Names are UTF-8 in a chunked byte heap; ids and
 * generated client ids (`<32 hex>.access`) are 16 bytes, secret hashes their first 16 (VERIFIER_BYTES), revisions 4 (a map past
 * 2^32 - 2); other client ids are text in a map. Lookups by client id and by id are
 * open-addressing tables.
 */
export class TokenStore {
  private count = 0;
  private slots = 0; // high-water mark
  private free: number[] = [];
  private chunks: Chunk[] = [];
  private heap: Buffer[] = [];
  /** Global offset of the heap's end (chunk × HEAP_CHUNK + offset). */
  private heapEnd = 0;
  private heapUsed = 0;
  private heapGarbage = 0;
  /** Account ids repeat across a fleet: one string per account. */
  private readonly accountIds = new StringTable();
  /** The same by the id's 16 bytes (as a latin1 string), for rows; and the last row's account. */
  private accountByBytes = new Map<string, number>();
  private lastAccount = -1;
  private lastAccountBytes = Buffer.alloc(ID_BYTES);
  /** The rare tokens inside a rotation's grace period. */
  private previous = new Map<number, { verifier: string; expiresAtMs: number | null }>();
  /** A row's hash decoded whole, before its first VERIFIER_BYTES are kept. */
  private readonly hashScratch = Buffer.allocUnsafe(HASH_BYTES);
  private views = new Map<number, ReplicaToken>();
  private readonly scratch = Buffer.allocUnsafe(1024);
  /** Room to encode a text client id of a slot (hashing, matching). */
  private readonly keyBytes = Buffer.allocUnsafe(1024);
  /** Client ids not in the generated form (imported or legacy ones: rare), by slot. */
  private textClientIds = new Map<number, string>();
  private bigRevisions = new Map<number, number>();
  /** The key in `scratch` is a compact client id (16 bytes), not UTF-8: it matches only compact slots. */
  private lookupCompact = false;
  private readonly byClientId = new SlotIndex({
    hashOf: (s) => {
      const c = this.chunks[s >>> CHUNK_BITS]!;
      const i = s & SLOT_MASK;
      if (c.flags[i]! & COMPACT_CLIENT) return fnv(c.clientKeys, i * KEY_BYTES, KEY_BYTES);
      const len = this.keyBytes.write(this.textClientIds.get(s) ?? '', 0, 'utf8');
      return fnv(this.keyBytes, 0, len);
    },
    matches: (s, key, len) => {
      const c = this.chunks[s >>> CHUNK_BITS]!;
      const i = s & SLOT_MASK;
      const compact = (c.flags[i]! & COMPACT_CLIENT) !== 0;
      if (compact !== this.lookupCompact) return false;
      if (compact) return sameBytes(c.clientKeys, i * KEY_BYTES, key, 0, KEY_BYTES);
      const text = this.textClientIds.get(s);
      // One longer than any lookup key (`key`) matches nothing: its first 1,024 bytes may be a key.
      if (text === undefined || text.length > this.keyBytes.length / 3) return false;
      return this.keyBytes.write(text, 0, 'utf8') === len && this.keyBytes.compare(key, 0, len, 0, len) === 0;
    },
  });
  private readonly byId = new SlotIndex({
    hashOf: (s) => fnv(this.chunks[s >>> CHUNK_BITS]!.ids, (s & SLOT_MASK) * ID_BYTES, ID_BYTES),
    matches: (s, key, len) => {
      const at = (s & SLOT_MASK) * ID_BYTES;
      return len === ID_BYTES && sameBytes(this.chunks[s >>> CHUNK_BITS]!.ids, at, key, 0, ID_BYTES);
    },
  });

  get size(): number {
    return this.count;
  }

  byClient(clientId: string): ReplicaToken | undefined {
    this.lookupCompact = compactClientId(clientId, this.scratch, 0);
    const len = this.lookupCompact ? KEY_BYTES : this.key(clientId);
    if (len < 0) return undefined;
    const slot = this.byClientId.find(this.scratch, len);
    return slot < 0 ? undefined : this.view(slot, clientId);
  }

  get(id: string): ReplicaToken | undefined {
    const slot = this.slotOfId(id);
    return slot < 0 ? undefined : this.view(slot);
  }

  revisionOf(id: string): number | undefined {
    const slot = this.slotOfId(id);
    return slot < 0 ? undefined : this.revisionAt(slot);
  }

  /**
   * Whether a token with this name can be kept (its UTF-8 within the heap's 64 KiB; a client id
   * of another form is kept as text in a map, unbounded): a page is checked whole before any of it
   * is applied. A name of at most 21,845 UTF-16 units is at most 65,535 bytes: no byte count.
   */
  fits(name: string): boolean {
    return name.length <= MAX_STRING_BYTES / 3 || Buffer.byteLength(name, 'utf8') <= MAX_STRING_BYTES;
  }

  /** `fits` for row `i` of a page. */
  fitsRow(rows: TokenRows, i: number): boolean {
    return rows.fieldLength(i, TOKEN_FIELD.NAME) <= MAX_STRING_BYTES;
  }

  /** Sets a token (replacing its older state). */
  set(t: VerifierToken, revision: number): void {
    this.setRow(tokenRowOf(t, revision));
  }

  /** Sets a token from a decoded replica.v3 row (replacing its older state). */
  setRow(r: TokenRow): void {
    const rows = TokenRows.of([r]);
    this.write(this.slotOfIdBytes(rows.bytes, rows.idAt(0)), rows, 0);
  }

  /**
   * Row `i` of a page, unless the store holds the token at this revision or a later one (one
   * lookup); true if written. Read straight from the row's bytes: no object or string per token.
   */
  setRowIfNewer(rows: TokenRows, i: number): boolean {
    const slot = this.slotOfIdBytes(rows.bytes, rows.idAt(i));
    if (slot >= 0 && this.revisionAt(slot) >= rows.revision(i)) return false;
    this.write(slot, rows, i);
    return true;
  }

  /** `found`: the token's slot, or -1 when it is new. */
  private write(found: number, rows: TokenRows, row: number): void {
    const b = rows.bytes;
    let slot = found;
    if (slot >= 0) {
      this.byClientId.remove(slot);
      this.views.delete(slot);
    } else {
      slot = this.allocate();
      b.copy(this.chunks[slot >>> CHUNK_BITS]!.ids, (slot & SLOT_MASK) * ID_BYTES, rows.idAt(row), rows.idAt(row) + ID_BYTES);
      this.byId.insert(slot);
      this.count++;
    }
    const c = this.chunks[slot >>> CHUNK_BITS]!;
    const i = slot & SLOT_MASK;
    const F = TOKEN_FIELD;
    const rowFlags = rows.flags(row);
    // The whole hash is checked (64 hex digits), its first VERIFIER_BYTES kept.
    const hashOk =
      rows.fieldLength(row, F.SECRET_HASH) === HASH_BYTES * 2 &&
      hexBytes(b, rows.fieldAt(row, F.SECRET_HASH), HASH_BYTES, this.hashScratch, 0, false) &&
      this.hashScratch.copy(c.verifiers, i * VERIFIER_BYTES, 0, VERIFIER_BYTES) === VERIFIER_BYTES;
    const compact = compactClientIdBytes(b, rows.fieldAt(row, F.CLIENT_ID), rows.fieldLength(row, F.CLIENT_ID), c.clientKeys, i * KEY_BYTES);
    c.flags[i] = LIVE | (rowFlags & TOKEN_ROW_FLAGS.ENABLED ? ENABLED : 0) | (hashOk ? 0 : BAD_HASH) | (compact ? COMPACT_CLIENT : 0);
    const revision = rows.revision(row);
    if (revision < REVISION_ABOVE) {
      c.revisions[i] = revision;
      this.bigRevisions.delete(slot);
    } else {
      c.revisions[i] = REVISION_ABOVE;
      this.bigRevisions.set(slot, revision);
    }
    c.expires[i] = rows.expiresAtMs(row) ?? NaN;
    c.versions[i] = rows.version(row);
    c.accounts[i] = this.accountOfBytes(b, rows.accountAt(row));
    if (compact) this.textClientIds.delete(slot);
    // Another form (rare) is kept as text. One longer than a lookup key (341 characters) is never
    // found (as before); hashing it reads its first 1,024 bytes, the same each time.
    else this.textClientIds.set(slot, rows.text(row, F.CLIENT_ID));
    [c.nameAt[i], c.nameLen[i]] = this.store(b, rows.fieldAt(row, F.NAME), rows.fieldLength(row, F.NAME), c.nameAt[i]!, c.nameLen[i]!);
    // An empty previous hash is none, as before.
    if (rowFlags & TOKEN_ROW_FLAGS.PREVIOUS_HASH && rows.fieldLength(row, F.PREVIOUS_HASH) > 0) {
      const at = rows.fieldAt(row, F.PREVIOUS_HASH);
      const ok = rows.fieldLength(row, F.PREVIOUS_HASH) === HASH_BYTES * 2 && hexBytes(b, at, HASH_BYTES, this.hashScratch, 0, false);
      this.previous.set(slot, { verifier: ok ? this.hashScratch.toString('hex', 0, VERIFIER_BYTES) : '', expiresAtMs: rows.previousExpiresAtMs(row) });
    } else this.previous.delete(slot);
    this.byClientId.insert(slot);
    this.compactIfWasteful();
  }

  delete(id: string): boolean {
    const slot = this.slotOfId(id);
    if (slot < 0) return false;
    this.byClientId.remove(slot);
    this.byId.remove(slot);
    const c = this.chunks[slot >>> CHUNK_BITS]!;
    const i = slot & SLOT_MASK;
    this.heapGarbage += c.nameLen[i]!;
    c.nameLen[i] = 0;
    c.flags[i] = 0;
    this.previous.delete(slot);
    this.textClientIds.delete(slot);
    this.bigRevisions.delete(slot);
    this.views.delete(slot);
    this.free.push(slot);
    this.count--;
    return true;
  }

  private slotOfId(id: string): number {
    if (!uuidBytes(id, this.scratch, 0)) return -1;
    return this.byId.find(this.scratch, ID_BYTES);
  }

  private slotOfIdBytes(b: Buffer, at: number): number {
    b.copy(this.scratch, 0, at, at + ID_BYTES);
    return this.byId.find(this.scratch, ID_BYTES);
  }

  /** The key's UTF-8 bytes in the scratch buffer; -1 if too long to be stored. */
  private key(s: string): number {
    if (s.length > this.scratch.length / 3) return -1;
    return this.scratch.write(s, 0, 'utf8');
  }

  private text(at: number, len: number): string {
    const off = heapOffsetOf(at);
    return this.heap[heapChunkOf(at)]!.toString('utf8', off, off + len);
  }

  private view(slot: number, clientId?: string): ReplicaToken {
    const cached = this.views.get(slot);
    if (cached) return cached;
    const c = this.chunks[slot >>> CHUNK_BITS]!;
    const i = slot & SLOT_MASK;
    const f = c.flags[i]!;
    const exp = c.expires[i]!;
    const prev = this.previous.get(slot);
    const v: ReplicaToken = {
      id: uuidText(c.ids, i * ID_BYTES),
      accountId: this.accountIds.at(c.accounts[i]!),
      name: this.text(c.nameAt[i]!, c.nameLen[i]!),
      clientId:
        clientId ?? (f & COMPACT_CLIENT ? c.clientKeys.toString('hex', i * KEY_BYTES, (i + 1) * KEY_BYTES) + CLIENT_ID_SUFFIX : this.textClientIds.get(slot)!),
      enabled: (f & ENABLED) !== 0,
      secretVerifier: f & BAD_HASH ? '' : c.verifiers.toString('hex', i * VERIFIER_BYTES, (i + 1) * VERIFIER_BYTES),
      clientSecretVersion: c.versions[i]!,
      previousSecretVerifier: prev?.verifier ?? null,
      revision: this.revisionAt(slot),
      expiresAtMs: Number.isNaN(exp) ? null : exp,
      previousExpiresAtMs: prev?.expiresAtMs ?? null,
    };
    if (this.views.size >= VIEW_CACHE) this.views.clear();
    this.views.set(slot, v);
    return v;
  }

  private revisionAt(slot: number): number {
    const r = this.chunks[slot >>> CHUNK_BITS]!.revisions[slot & SLOT_MASK]!;
    return r === REVISION_ABOVE ? this.bigRevisions.get(slot)! : r;
  }

  /** `account` of the 16 bytes of an account id at `at` (rows of one account tend to come together). */
  private accountOfBytes(b: Buffer, at: number): number {
    if (this.lastAccount >= 0 && sameBytes(this.lastAccountBytes, 0, b, at, ID_BYTES)) return this.lastAccount;
    const key = b.toString('latin1', at, at + ID_BYTES);
    let i = this.accountByBytes.get(key);
    if (i === undefined) {
      i = this.accountIds.indexOf(uuidText(b, at));
      this.accountByBytes.set(key, i);
    }
    b.copy(this.lastAccountBytes, 0, at, at + ID_BYTES);
    this.lastAccount = i;
    return i;
  }

  /** Writes `len` bytes of `src` at `from` into the heap (in place when they fit the old string's room); returns [offset, length]. */
  private store(src: Buffer, from: number, len: number, oldAt: number, oldLen: number): [number, number] {
    if (len > MAX_STRING_BYTES) throw new Error('string too long for the token store');
    if (len <= oldLen) {
      src.copy(this.heap[heapChunkOf(oldAt)]!, heapOffsetOf(oldAt), from, from + len);
      this.heapGarbage += oldLen - len;
      this.heapUsed -= oldLen - len;
      return [oldAt, len];
    }
    this.heapGarbage += oldLen;
    this.heapUsed -= oldLen;
    const at = this.append(src, from, len);
    this.heapUsed += len;
    return [at, len];
  }

  /** Appends `len` bytes of `src` at `from` at the heap's end; a string that does not fit the last chunk starts a new one. */
  private append(src: Buffer, from: number, len: number): number {
    const last = this.heap.length - 1;
    const fill = this.heapEnd - last * HEAP_CHUNK;
    if (last < 0 || fill + len > HEAP_CHUNK) {
      if (last >= 0) this.heapGarbage += HEAP_CHUNK - fill;
      this.heap.push(Buffer.allocUnsafeSlow(HEAP_CHUNK));
      this.heapEnd = last < 0 ? 0 : (last + 1) * HEAP_CHUNK;
    }
    const at = this.heapEnd;
    src.copy(this.heap[heapChunkOf(at)]!, heapOffsetOf(at), from, from + len);
    this.heapEnd += len;
    return at;
  }

  /** Rewrites the heap without the bytes of replaced and deleted strings once they are most of it. */
  private compactIfWasteful(): void {
    if (this.heapGarbage < HEAP_CHUNK * 4 || this.heapGarbage < this.heapUsed) return;
    const old = this.heap;
    this.heap = [];
    this.heapEnd = 0;
    this.heapGarbage = 0;
    const move = (at: Uint32Array, len: Uint16Array, i: number) => {
      at[i] = this.append(old[heapChunkOf(at[i]!)]!, heapOffsetOf(at[i]!), len[i]!);
    };
    for (let s = 0; s < this.slots; s++) {
      const c = this.chunks[s >>> CHUNK_BITS]!;
      const i = s & SLOT_MASK;
      if (!(c.flags[i]! & LIVE)) continue;
      move(c.nameAt, c.nameLen, i);
    }
  }

  private allocate(): number {
    const reused = this.free.pop();
    if (reused !== undefined) return reused;
    if (this.slots === this.chunks.length * CHUNK_SLOTS) this.chunks.push(new Chunk());
    return this.slots++;
  }
}
