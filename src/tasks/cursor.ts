/**
 * Opaque list cursors (base64url): where each (queue, BullMQ state) list stands after a
 * page. See list.ts for how they are followed.
 *
 * Binary, to stay short in a query string (the dashboard accepts 200 characters, the task
 * API 300): a version byte and `asOf` (6 bytes, ms), then per list that has been read from:
 * its key (15 bits, and a flag: is `next` there), how many of its jobs were consumed
 * (LEB128), and 24-bit fingerprints of the last consumed job id and of the next one. At
 * most 15 characters per list, and only lists that were read from are recorded.
 */

const VERSION = 1;
const HEADER = 7;
/** More than any registry has (6 lists per queue): bounds what a forged cursor can ask for. */
const MAX_LISTS = 600;
const MAX_OFFSET = 2 ** 31 - 1;
const KEY_BITS = 0x7fff;
const HAS_NEXT = 0x8000;

/** How far one list has been consumed. */
export interface ListPosition {
  /** From listKeys(). */
  readonly key: number;
  /** Jobs consumed from the list's head, in BullMQ's newest-first order (>= 1). */
  readonly offset: number;
  /** fingerprint() of the last consumed job's id, to find it again if the list has moved. */
  readonly anchor: number;
  /** fingerprint() of the job after it, if it was known: found instead when the anchor has left the list. */
  readonly next?: number;
}

export interface ListCursor {
  /** Tasks created after this (ms) were not there when the listing began: later pages skip them. */
  readonly asOf: number;
  readonly lists: readonly ListPosition[];
}

/** 32-bit FNV-1a over UTF-16 code units. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** A job id's 24-bit fingerprint (a cursor does not carry whole ids). */
export const fingerprint = (id: string): number => fnv1a(id) >>> 8;

/**
 * 15-bit keys of named lists, distinct among them: a hash of the name, the next free key on
 * a collision (names taken in sorted order, so the same names always get the same keys).
 */
export function listKeys(names: readonly string[]): Map<string, number> {
  const keys = new Map<string, number>();
  const used = new Set<number>();
  for (const name of [...new Set(names)].sort()) {
    let key = fnv1a(name) & KEY_BITS;
    while (used.has(key)) key = (key + 1) & KEY_BITS;
    used.add(key);
    keys.set(name, key);
  }
  return keys;
}

export function encodeCursor(c: ListCursor): string {
  const buf = Buffer.alloc(HEADER + c.lists.length * 13);
  buf.writeUInt8(VERSION, 0);
  buf.writeUIntBE(Math.max(0, Math.trunc(c.asOf)), 1, 6);
  let at = HEADER;
  for (const l of c.lists) {
    at = buf.writeUInt16BE((l.key & KEY_BITS) | (l.next !== undefined ? HAS_NEXT : 0), at);
    let n = l.offset;
    while (n >= 0x80) {
      buf[at++] = (n & 0x7f) | 0x80;
      n = Math.floor(n / 0x80);
    }
    buf[at++] = n;
    at = buf.writeUIntBE(l.anchor & 0xffffff, at, 3);
    if (l.next !== undefined) at = buf.writeUIntBE(l.next & 0xffffff, at, 3);
  }
  return buf.subarray(0, at).toString('base64url');
}

/** undefined for a cursor that is not ours (or not of this version). */
export function decodeCursor(cursor: string): ListCursor | undefined {
  if (!/^[A-Za-z0-9_-]+$/.test(cursor)) return undefined;
  const buf = Buffer.from(cursor, 'base64url');
  // Only the canonical spelling: no trailing bits or characters Buffer would ignore.
  if (buf.length < HEADER || buf.toString('base64url') !== cursor || buf.readUInt8(0) !== VERSION) return undefined;
  const asOf = buf.readUIntBE(1, 6);
  const lists: ListPosition[] = [];
  const keys = new Set<number>();
  let at = HEADER;
  while (at < buf.length) {
    if (at + 2 + 1 + 3 > buf.length || lists.length >= MAX_LISTS) return undefined;
    const head = buf.readUInt16BE(at);
    const key = head & KEY_BITS;
    at += 2;
    let offset = 0;
    for (let shift = 1; ; shift *= 0x80) {
      const b = buf[at++];
      if (b === undefined || shift > 0x80 ** 4) return undefined;
      offset += (b & 0x7f) * shift;
      if (b < 0x80) break;
    }
    const size = head & HAS_NEXT ? 6 : 3;
    if (at + size > buf.length || offset < 1 || offset > MAX_OFFSET || keys.has(key)) return undefined;
    const anchor = buf.readUIntBE(at, 3);
    const next = head & HAS_NEXT ? buf.readUIntBE(at + 3, 3) : undefined;
    at += size;
    keys.add(key);
    lists.push({ key, offset, anchor, ...(next !== undefined ? { next } : {}) });
  }
  return { asOf, lists };
}
