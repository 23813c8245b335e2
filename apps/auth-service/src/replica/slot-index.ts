// Byte keys and an open-addressing index over a store's slots (the token and policy stores).

/** The 16 bytes of a UUID. */
const ID_BYTES = 16;
const EMPTY = 0;
const DELETED = -1;

/** 32-bit FNV-1a over bytes. */
export function fnv(buf: Buffer, off: number, len: number): number {
  let h = 0x811c9dc5;
  for (let i = off; i < off + len; i++) h = Math.imul(h ^ buf[i]!, 0x01000193);
  return h >>> 0;
}

/** Hex digit values by character code (-1: not a hex digit). */
export const NIBBLE = new Int8Array(128).fill(-1);
for (let d = 0; d < 16; d++) {
  NIBBLE['0123456789abcdef'.charCodeAt(d)] = d;
  NIBBLE['0123456789ABCDEF'.charCodeAt(d)] = d;
}
/** Dashes of the 8-4-4-4-12 form. */
const DASH = (k: number) => k === 8 || k === 13 || k === 18 || k === 23;

/** Writes a UUID's 16 bytes at `at` (no strings made: a cold start does this a million times); false if it is not one. */
export function uuidBytes(id: string, into: Buffer, at: number): boolean {
  if (id.length !== 36) return false;
  let out = at;
  for (let k = 0; k < 36; k += 2) {
    if (DASH(k)) {
      if (id.charCodeAt(k) !== 0x2d) return false;
      k--; // the next pair starts right after the dash
      continue;
    }
    const hi = NIBBLE[id.charCodeAt(k)] ?? -1;
    const lo = NIBBLE[id.charCodeAt(k + 1)] ?? -1;
    if (hi < 0 || lo < 0) return false;
    into[out++] = (hi << 4) | lo;
  }
  return out === at + ID_BYTES;
}

/** Whether `len` bytes of `a` at `ai` equal those of `b` at `bi` (a loop: Buffer#compare's native call cost more than 16 bytes). */
export function sameBytes(a: Buffer, ai: number, b: Buffer, bi: number, len: number): boolean {
  for (let k = 0; k < len; k++) if (a[ai + k] !== b[bi + k]) return false;
  return true;
}

/** How a SlotIndex reaches the key bytes of a slot (they live in the store). */
export interface KeySource {
  hashOf(slot: number): number;
  matches(slot: number, key: Buffer, len: number): boolean;
}

/**
 * Open addressing from a key's bytes to a slot (Int32Array of slot + 1; linear probing; deleted
 * entries marked until the next rebuild; load at most one half).
 */
export class SlotIndex {
  private table = new Int32Array(1024);
  private used = 0; // live + deleted entries
  private live = 0;

  constructor(private readonly keys: KeySource) {}

  find(key: Buffer, len: number): number {
    const mask = this.table.length - 1;
    for (let i = fnv(key, 0, len) & mask; ; i = (i + 1) & mask) {
      const e = this.table[i]!;
      if (e === EMPTY) return -1;
      if (e > 0 && this.keys.matches(e - 1, key, len)) return e - 1;
    }
  }

  /** Adds a key known to be absent. */
  insert(slot: number): void {
    if ((this.used + 1) * 2 > this.table.length) this.rebuild(this.live + 1);
    const mask = this.table.length - 1;
    let i = this.keys.hashOf(slot) & mask;
    while (this.table[i]! > 0) i = (i + 1) & mask;
    if (this.table[i] === EMPTY) this.used++;
    this.table[i] = slot + 1;
    this.live++;
  }

  remove(slot: number): void {
    const mask = this.table.length - 1;
    for (let i = this.keys.hashOf(slot) & mask; ; i = (i + 1) & mask) {
      const e = this.table[i]!;
      if (e === EMPTY) return;
      if (e === slot + 1) {
        this.table[i] = DELETED;
        this.live--;
        return;
      }
    }
  }

  private rebuild(atLeast: number): void {
    const old = this.table;
    let size = 1024;
    while (size < atLeast * 2) size *= 2;
    this.table = new Int32Array(size);
    this.used = 0;
    this.live = 0;
    for (const e of old) if (e > 0) this.insert(e - 1);
  }
}

/** One string per distinct value (account ids repeat across a fleet), and its index. */
export class StringTable {
  private readonly values: string[] = [];
  private readonly index = new Map<string, number>();

  indexOf(value: string): number {
    let i = this.index.get(value);
    if (i === undefined) {
      i = this.values.push(value) - 1;
      this.index.set(value, i);
    }
    return i;
  }

  at(i: number): string {
    return this.values[i]!;
  }
}
