import type { TokenRow } from './replication.js';

/**
 * replica.v3 token rows as they travel: binary, one row after another, the whole page's rows as
 * the reply's `tokens` bytes. PostgreSQL writes them with its `*send` functions (no
 * number or date formatting, no JSON escaping); a replica reads the fields it keeps straight from
 * the bytes (the gateway makes no object or string per token), or decodes a row as a `TokenRow`.
 *
 * A row (integers big-endian, as PostgreSQL sends them):
 *   flags u8            ENABLED 1 | EXPIRES 2 | PREVIOUS_HASH 4 | PREVIOUS_EXPIRES 8
 *   revision i64
 *   id, account id      16 bytes each (uuid)
 *   expires at i64      microseconds since 2000-01-01 UTC (PostgreSQL's timestamptz); 0 when absent
 *   previous expires    the same
 *   secret version i32
 *   name, client id, duration, secret hash, previous secret hash: u32 byte length, then UTF-8
 * Dates are kept within ISO 8601's four-digit years, which every replica's dates and databases
 * take: a later one (`infinity` included) reads as none (never expires), an earlier one
 * (`-infinity` included) as 0001-01-01 (expired).
 */
export const TOKEN_ROW_FLAGS = { ENABLED: 1, EXPIRES: 2, PREVIOUS_HASH: 4, PREVIOUS_EXPIRES: 8 } as const;
const KNOWN_FLAGS = 15;
/** Bytes before the first text field. */
export const TOKEN_ROW_FIXED = 61;
/** The text fields, in order: `TokenRows.field*(i, k)`. */
export const TOKEN_FIELD = { NAME: 0, CLIENT_ID: 1, DURATION: 2, SECRET_HASH: 3, PREVIOUS_HASH: 4 } as const;
const FIELDS = 5;
/** Offsets inside a row. */
const AT = { FLAGS: 0, REVISION: 1, ID: 9, ACCOUNT: 25, EXPIRES: 41, PREVIOUS_EXPIRES: 49, VERSION: 57 } as const;

/** Milliseconds from 1970-01-01 to PostgreSQL's epoch, 2000-01-01. */
const PG_EPOCH_MS = 946_684_800_000;
/** 9999-12-31T23:59:59.999Z and 0001-01-01T00:00:00.000Z. */
const LATEST_MS = 253_402_300_799_999;
const EARLIEST_MS = -62_135_596_800_000;
const TWO_32 = 0x1_0000_0000;

const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));

/** A page's rows, checked whole when decoded: a page that breaks the layout is refused. */
export class TokenRows {
  static readonly EMPTY = new TokenRows(Buffer.alloc(0), new Uint32Array(0), new Uint32Array(0));

  private constructor(
    /** The rows' bytes. */
    readonly bytes: Buffer,
    /** Each row's start in `bytes`. */
    private readonly starts: Uint32Array,
    /** Each row's text fields: [start, length] × 5 per row. */
    private readonly fields: Uint32Array,
  ) {}

  get length(): number {
    return this.starts.length;
  }

  /** Checks a page's `tokens` bytes (kept, not copied). */
  static decode(data: Uint8Array): TokenRows {
    if (data.length === 0) return TokenRows.EMPTY;
    const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const starts: number[] = [];
    const fields: number[] = [];
    let at = 0;
    while (at < bytes.length) {
      const row = starts.length;
      if (bytes.length - at < TOKEN_ROW_FIXED) throw new Error(`replica.v3 page: tokens break TokenRow (row ${row} is cut short)`);
      const flags = bytes[at + AT.FLAGS]!;
      if (flags & ~KNOWN_FLAGS) throw new Error(`replica.v3 page: tokens break TokenRow (row ${row} has unknown flags)`);
      if (!safeInt64(bytes, at + AT.REVISION)) throw new Error(`replica.v3 page: tokens break TokenRow (row ${row}: revision)`);
      starts.push(at);
      let p = at + TOKEN_ROW_FIXED;
      for (let k = 0; k < FIELDS; k++) {
        if (bytes.length - p < 4) throw new Error(`replica.v3 page: tokens break TokenRow (row ${row} is cut short)`);
        const len = bytes.readUInt32BE(p);
        p += 4;
        if (len > bytes.length - p) throw new Error(`replica.v3 page: tokens break TokenRow (row ${row} is cut short)`);
        if (k === TOKEN_FIELD.PREVIOUS_HASH && len > 0 && !(flags & TOKEN_ROW_FLAGS.PREVIOUS_HASH))
          throw new Error(`replica.v3 page: tokens break TokenRow (row ${row}: previous hash without its flag)`);
        fields.push(p, len);
        p += len;
      }
      at = p;
    }
    return new TokenRows(bytes, Uint32Array.from(starts), Uint32Array.from(fields));
  }

  /** Rows written as PostgreSQL writes them (a token service's test double, a change event). */
  static encode(rows: readonly TokenRow[]): Buffer {
    const parts: Buffer[] = [];
    for (const [revision, id, accountId, name, clientId, duration, enabled, expiresAtMs, secretHash, version, previousHash, previousMs] of rows) {
      const fixed = Buffer.alloc(TOKEN_ROW_FIXED);
      const F = TOKEN_ROW_FLAGS;
      fixed[AT.FLAGS] =
        (enabled ? F.ENABLED : 0) |
        (expiresAtMs !== null ? F.EXPIRES : 0) |
        (previousHash !== null ? F.PREVIOUS_HASH : 0) |
        (previousMs !== null ? F.PREVIOUS_EXPIRES : 0);
      fixed.writeBigInt64BE(BigInt(revision), AT.REVISION);
      writeUuid(id, fixed, AT.ID);
      writeUuid(accountId, fixed, AT.ACCOUNT);
      if (expiresAtMs !== null) fixed.writeBigInt64BE(BigInt(expiresAtMs - PG_EPOCH_MS) * 1000n, AT.EXPIRES);
      if (previousMs !== null) fixed.writeBigInt64BE(BigInt(previousMs - PG_EPOCH_MS) * 1000n, AT.PREVIOUS_EXPIRES);
      fixed.writeInt32BE(version, AT.VERSION);
      parts.push(fixed);
      for (const s of [name, clientId, duration, secretHash, previousHash ?? '']) {
        const b = Buffer.from(s, 'utf8');
        const len = Buffer.alloc(4);
        len.writeUInt32BE(b.length);
        parts.push(len, b);
      }
    }
    return Buffer.concat(parts);
  }

  /** Rows as a page carries them, decoded again (tests, change events). */
  static of(rows: readonly TokenRow[]): TokenRows {
    return TokenRows.decode(TokenRows.encode(rows));
  }

  /** Where row `i` starts in `bytes` (its fixed fields: `TokenRows.at`). */
  start(i: number): number {
    return this.starts[i]!;
  }

  flags(i: number): number {
    return this.bytes[this.starts[i]! + AT.FLAGS]!;
  }

  revision(i: number): number {
    return int64(this.bytes, this.starts[i]! + AT.REVISION);
  }

  /** Offset of the row's 16 id bytes. */
  idAt(i: number): number {
    return this.starts[i]! + AT.ID;
  }

  /** Offset of the row's 16 account id bytes. */
  accountAt(i: number): number {
    return this.starts[i]! + AT.ACCOUNT;
  }

  id(i: number): string {
    return uuidText(this.bytes, this.idAt(i));
  }

  accountId(i: number): string {
    return uuidText(this.bytes, this.accountAt(i));
  }

  expiresAtMs(i: number): number | null {
    return this.flags(i) & TOKEN_ROW_FLAGS.EXPIRES ? pgDateMs(this.bytes, this.starts[i]! + AT.EXPIRES) : null;
  }

  previousExpiresAtMs(i: number): number | null {
    return this.flags(i) & TOKEN_ROW_FLAGS.PREVIOUS_EXPIRES ? pgDateMs(this.bytes, this.starts[i]! + AT.PREVIOUS_EXPIRES) : null;
  }

  version(i: number): number {
    return this.bytes.readInt32BE(this.starts[i]! + AT.VERSION);
  }

  /** Offset of text field `k` (TOKEN_FIELD) of row `i` in `bytes`. */
  fieldAt(i: number, k: number): number {
    return this.fields[(i * FIELDS + k) * 2]!;
  }

  /** Byte length of text field `k` of row `i`. */
  fieldLength(i: number, k: number): number {
    return this.fields[(i * FIELDS + k) * 2 + 1]!;
  }

  text(i: number, k: number): string {
    const at = this.fieldAt(i, k);
    return this.bytes.toString('utf8', at, at + this.fieldLength(i, k));
  }

  row(i: number): TokenRow {
    const flags = this.flags(i);
    const F = TOKEN_FIELD;
    return [
      this.revision(i),
      this.id(i),
      this.accountId(i),
      this.text(i, F.NAME),
      this.text(i, F.CLIENT_ID),
      this.text(i, F.DURATION),
      (flags & TOKEN_ROW_FLAGS.ENABLED) !== 0,
      this.expiresAtMs(i),
      this.text(i, F.SECRET_HASH),
      this.version(i),
      flags & TOKEN_ROW_FLAGS.PREVIOUS_HASH ? this.text(i, F.PREVIOUS_HASH) : null,
      this.previousExpiresAtMs(i),
    ];
  }

  toArray(): TokenRow[] {
    return Array.from({ length: this.length }, (_, i) => this.row(i));
  }
}

/** A non-negative i64 that is a safe integer. */
function safeInt64(b: Buffer, at: number): boolean {
  const hi = b.readInt32BE(at);
  return hi >= 0 && hi < 0x20_0000;
}

function int64(b: Buffer, at: number): number {
  return b.readInt32BE(at) * TWO_32 + b.readUInt32BE(at + 4);
}

/** Epoch milliseconds of a PostgreSQL timestamptz (microseconds since 2000), within years 1-9999 (null: later). */
function pgDateMs(b: Buffer, at: number): number | null {
  // Exact within ±285 years of 2000 (53 bits of microseconds); `infinity` and `-infinity` are the
  // largest and smallest i64, far outside the years kept.
  const ms = Math.floor((b.readInt32BE(at) * TWO_32 + b.readUInt32BE(at + 4)) / 1000) + PG_EPOCH_MS;
  return ms > LATEST_MS ? null : ms < EARLIEST_MS ? EARLIEST_MS : ms;
}

/** The 8-4-4-4-12 text of 16 bytes. */
export function uuidText(b: Buffer, at: number): string {
  let s = '';
  for (let k = 0; k < 16; k++) {
    if (k === 4 || k === 6 || k === 8 || k === 10) s += '-';
    s += HEX[b[at + k]!]!;
  }
  return s;
}

function writeUuid(id: string, into: Buffer, at: number): void {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) throw new Error(`token row: ${id} is not a UUID`);
  into.write(id.replace(/-/g, ''), at, 16, 'hex');
}
