/**
 * Listing every retained task, newest first, a page at a time, without reading the whole
 * history per request.
 *
 * BullMQ keeps one list per queue and state (waiting, prioritized, delayed, active,
 * completed, failed), each readable newest-first by position (`getRanges`). A page is a
 * k-way merge of those lists' heads by creation time (then id), descending; each list is
 * read in chunks only as far as the merge needs (ids first, then job records in batches).
 * The cursor records, per list, how many jobs were consumed and fingerprints of the last
 * consumed job and of the one after it (cursor.ts).
 *
 * Lists move between two requests: new tasks, and tasks finishing, are inserted at the
 * head of theirs. The next page therefore looks for the last consumed job again, from a
 * little before where it was to well after it, and carries on right after it: insertions
 * are skipped instead of shifting old tasks into the page again, and jobs that left before
 * it are allowed for. If that job itself left the list, the page carries on from the one
 * that came after it; if both left, from the same position. Tasks created after the first
 * page are not part of the listing (`asOf`): start again from the first page to see them.
 *
 * Like any live listing, a task that changes state between two requests (it moves to
 * another list) may appear twice or not at all. The order is exactly newest-first only as
 * far as each list is in creation order: completed and failed are kept in finishing order,
 * delayed in due order, prioritized in priority order, so a task that finished (or is due)
 * out of turn comes where its list puts it. Each task is still listed once.
 *
 * Filters are applied while merging, and at most SCAN_MAX jobs are looked at per request:
 * a rare filter then gives a short (even empty) page with a `next` cursor to go on.
 * `next` is null only once every list has been read to its end.
 */
import type { Job, JobState } from 'bullmq';
import type { TaskBackend, TaskJobData, TaskQueue } from './backend.ts';
import { decodeCursor, encodeCursor, fingerprint, listKeys, type ListCursor, type ListPosition } from './cursor.ts';
import { bullTypesFor, toRecord } from './state.ts';
import type { ListTasksQuery, TaskPage, TaskRecord } from './types.ts';

/** Jobs looked at (filtered) per request at most. */
export const SCAN_MAX = 5_000;
/** Ids re-read before a list's last known position, in case jobs before it left the list. */
const LOOK_BACK = 16;
/** Ids searched past a list's last known position for its last consumed job. */
const SEARCH_MAX = 50_000;
/**
 * Job records loaded from a list the first time (often only its head is needed); later
 * loads take what the page still needs, at least twice the previous load, up to JOB_BATCH_MAX.
 */
const JOB_BATCH = 16;
const JOB_BATCH_MAX = 1_000;
const ID_WINDOW_MAX = 5_000;

const newestFirst = (a: TaskRecord, b: TaskRecord) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);

/** One (queue, BullMQ state) list, read from a position onward. */
class ListReader {
  readonly key: number;
  /** Absolute position (in the list's newest-first order) of ids[0]. */
  private pos = 0;
  /** The id at pos - 1 (or its fingerprint, when it comes from a cursor); undefined iff pos is 0. */
  private anchor: string | number | undefined;
  /** The fingerprint of the id that was at pos, from the cursor, until the list is first read. */
  private next: number | undefined;
  /** Read, not yet consumed. */
  private ids: string[] = [];
  /** Records of a prefix of ids (null: the job is gone). */
  private records: (TaskRecord | null)[] = [];
  /** The list has nothing after ids. */
  private ended = false;
  private window: number;
  private batch = 0;
  private readonly queue: TaskQueue;
  private readonly type: JobState;

  constructor(queue: TaskQueue, type: JobState, key: number, start: ListPosition | undefined, window: number) {
    this.queue = queue;
    this.type = type;
    this.key = key;
    this.window = window;
    if (start) {
      this.pos = start.offset;
      this.anchor = start.anchor;
      this.next = start.next;
    }
  }

  /** The cursor entry (none while nothing has been consumed). */
  position(): ListPosition | undefined {
    if (this.pos === 0 || this.anchor === undefined) return undefined;
    const next = this.ids[0];
    return {
      key: this.key,
      offset: this.pos,
      anchor: typeof this.anchor === 'number' ? this.anchor : fingerprint(this.anchor),
      ...(next !== undefined ? { next: fingerprint(next) } : {}),
    };
  }

  private range(start: number, count: number): Promise<string[]> {
    return this.queue.getRanges([this.type], start, start + count - 1, false);
  }

  private isAnchor(id: string): boolean {
    return typeof this.anchor === 'string' ? id === this.anchor : fingerprint(id) === this.anchor;
  }

  /** Reads the next ids after the anchor, until some are read or the list ends (the buffer is empty). */
  private async readIds(): Promise<void> {
    do await this.readWindow();
    while (this.ids.length === 0 && !this.ended);
  }

  private async readWindow(): Promise<void> {
    const window = this.window;
    this.window = Math.min(window * 2, ID_WINDOW_MAX);
    const next = this.next;
    this.next = undefined;
    if (this.pos === 0) {
      this.ids = await this.range(0, window);
      this.ended = this.ids.length < window;
      return;
    }
    // Look for the anchor from a little before where it was (jobs before it may have left)
    // to well after it (jobs inserted at the head since push it down); failing that, for
    // the job that came after it.
    const expected = this.pos - 1;
    const closest = (a: number, b: number, to: number) => (b < 0 || Math.abs(a - to) < Math.abs(b - to) ? a : b);
    let start = Math.max(0, expected - LOOK_BACK);
    let size = window + (expected - start);
    let length: number | undefined;
    for (let searched = 0; ; ) {
      const ids = await this.range(start, size);
      let found = -1;
      let after = -1;
      for (let i = 0; i < ids.length; i++) {
        if (this.isAnchor(ids[i]!)) found = closest(i, found, expected - start);
        else if (next !== undefined && fingerprint(ids[i]!) === next) after = closest(i, after, expected + 1 - start);
      }
      if (found >= 0) {
        this.pos = start + found + 1;
        this.anchor = ids[found]!;
        this.ids = ids.slice(found + 1);
        this.ended = ids.length < size;
        return;
      }
      if (after >= 0) {
        // The anchor left the list; the job after it did not: carry on from that one.
        this.pos = start + after;
        if (after > 0) this.anchor = ids[after - 1]!;
        else if (this.pos === 0) this.anchor = undefined;
        this.ids = ids.slice(after);
        this.ended = ids.length < size;
        return;
      }
      if (ids.length < size) {
        length = start + ids.length;
        break;
      }
      searched += size;
      if (searched > SEARCH_MAX) break;
      start += size;
      size = Math.min(size * 2, ID_WINDOW_MAX);
    }
    // Neither found: both left the list (or more than SEARCH_MAX jobs arrived). Assume the
    // anchor alone left: its successor moved up into its place.
    const at = Math.min(expected, length ?? expected);
    if (at === 0) {
      this.pos = 0;
      this.anchor = undefined;
      this.ids = await this.range(0, window);
      this.ended = this.ids.length < window;
      return;
    }
    const ids = await this.range(at - 1, window + 1);
    if (ids.length === 0) {
      this.ended = true;
      return;
    }
    this.pos = at;
    this.anchor = ids[0]!;
    this.ids = ids.slice(1);
    this.ended = ids.length < window + 1;
  }

  /** Loads the next batch of records; false once the list is exhausted. */
  private async load(wanted: number): Promise<boolean> {
    if (this.records.length === this.ids.length) {
      if (this.ids.length === 0 && this.ended) return false;
      if (this.ids.length === 0) await this.readIds();
      if (this.ids.length === 0) return false;
    }
    this.batch = this.batch === 0 ? JOB_BATCH : Math.min(Math.max(wanted, this.batch * 2), JOB_BATCH_MAX);
    const next = this.ids.slice(this.records.length, this.records.length + this.batch);
    const jobs = await Promise.all(next.map((id) => this.queue.getJob(id) as Promise<Job<TaskJobData> | undefined>));
    for (const job of jobs) this.records.push(job ? toRecord(job, this.type) : null);
    return true;
  }

  /** The next record, without consuming it; undefined once the list is exhausted. `wanted`: records the page may still take. */
  async head(wanted: number): Promise<TaskRecord | undefined> {
    for (;;) {
      const r = this.records[0];
      if (r) return r;
      if (r === null) this.take(); // gone since its id was read: consumed, nothing to show
      else if (!(await this.load(wanted))) return undefined;
    }
  }

  /** Consumes the head (loaded by head()). */
  take(): void {
    this.anchor = this.ids.shift();
    this.records.shift();
    this.pos++;
  }

  /** Whether anything may be left to read (reads ids, not jobs). */
  async more(): Promise<boolean> {
    if (this.ids.length > 0) return true;
    if (this.ended) return false;
    await this.readIds();
    return this.ids.length > 0;
  }
}

export interface ListContext {
  readonly backend: TaskBackend;
  readonly queues: readonly string[];
  /** Jobs looked at per request at most (default SCAN_MAX). */
  readonly scanMax?: number;
}

/** A page of tasks; a malformed cursor starts from the first page (the task API rejects it before). */
export async function listTasks(ctx: ListContext, q: ListTasksQuery = {}): Promise<TaskPage> {
  const limit = Math.min(Math.max(q.limit ?? 100, 1), 1000);
  const cursor: ListCursor | undefined = q.after ? decodeCursor(q.after) : undefined;
  const positions = new Map((cursor?.lists ?? []).map((l) => [l.key, l]));
  const window = Math.min(Math.max(limit * 2, 100), 1000);
  // Keys over every list of every queue, whatever the filter, so that they stay the same.
  const listName = (queue: string, type: string) => `${queue}\u0000${type}`;
  const keys = listKeys(ctx.queues.flatMap((queue) => bullTypesFor(undefined).map((type) => listName(queue, type))));
  const readers = ctx.queues.flatMap((name) => {
    const queue = ctx.backend.queue(name);
    return bullTypesFor(q.state).map((type) => {
      const key = keys.get(listName(name, type)) ?? 0;
      return new ListReader(queue, type, key, positions.get(key), window);
    });
  });
  const needle = q.search?.toLowerCase();
  const matches = (t: TaskRecord) =>
    (!q.state || t.state === q.state) &&
    (!q.name || t.name === q.name) &&
    (q.createdBy === undefined || t.createdBy === q.createdBy) &&
    (!needle || t.id.includes(needle) || t.name.toLowerCase().includes(needle) || JSON.stringify(t.args ?? null).toLowerCase().includes(needle));

  let asOf = cursor?.asOf ?? Date.now();
  const data: TaskRecord[] = [];
  const seen = new Set<string>();
  const scanMax = ctx.scanMax ?? SCAN_MAX;
  for (let scanned = 0; data.length < limit && scanned < scanMax; scanned++) {
    const heads = await Promise.all(readers.map((r) => r.head(limit - data.length + 1)));
    let best = -1;
    for (let i = 0; i < heads.length; i++) {
      const h = heads[i];
      if (h && (best < 0 || newestFirst(h, heads[best]!) < 0)) best = i;
    }
    if (best < 0) break;
    const t = heads[best]!;
    readers[best]!.take();
    const created = t.createdAt.getTime();
    if (cursor && created > cursor.asOf) continue; // created since the first page
    if (!cursor && created > asOf) asOf = created; // a producer's clock ahead of ours
    if (seen.has(t.id)) continue; // moved to another list during this request
    seen.add(t.id);
    if (matches(t)) data.push(t);
  }
  const more = (await Promise.all(readers.map((r) => r.more()))).some(Boolean);
  if (!more) return { data, next: null };
  // Lists this page did not read (another state filter) keep their place.
  const known = new Set(keys.values());
  const lists = (cursor?.lists ?? []).filter((l) => known.has(l.key) && !readers.some((r) => r.key === l.key));
  for (const r of readers) {
    const p = r.position();
    if (p) lists.push(p);
  }
  return { data, next: encodeCursor({ asOf, lists }) };
}
