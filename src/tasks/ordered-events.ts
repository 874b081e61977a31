/**
 * BullMQ's PostgreSQL event stream, read in id order without losing events.
 *
 * BullMQ reads a queue's events as `id > last id read`. The ids come from one sequence,
 * and transactions take them in one order and commit in another: when task A's `active`
 * event (id 10) commits after task B's `retry` (id 11) has been read, BullMQ's reader skips
 * A's event for good. The monitor then shows A in a state it has left, and the metrics miss
 * it. This happened in CI with two tasks finishing in the same moment.
 *
 * This reader walks the ids of every queue in order (`conveyor_event_id_idx`, created by
 * `migrateTaskEngine`) and delivers its own queue's events only up to the first missing id.
 * An id goes missing while its transaction has not committed yet, or for good when it
 * rolled back; the reader waits for it up to `settleMs` after first seeing the gap (polling
 * every GAP_POLL_MS meanwhile), then goes past it. So each event is delivered once and in
 * id order, which for one task is the order of its state changes; a gap costs its delay
 * only to the events behind it. The worst case left: a transaction that commits more than
 * `settleMs` after writing its event has that event skipped, as before.
 *
 * Only the backend's event fetch is replaced: waiting on NOTIFY between reads, the poll
 * timeout and closing stay BullMQ's.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { PostgresQueueBackend } from 'bullmq';

/** One stream entry in the shape BullMQ's QueueEvents decodes: id and flat field list. */
type StreamEntry = { id: string; fields: string[] };
interface EventRow {
  id: string;
  /** null for another queue's event: only its id is read. */
  event: string | null;
  data: Record<string, unknown> | null;
}
/** The private member this replaces; checked at start so an upgrade that renames it fails loudly. */
interface Fetching {
  fetchEvents(cursor: string): Promise<StreamEntry[]>;
}

/** The index the reader walks (all queues' events by id); `migrateTaskEngine` creates it. */
export const EVENT_ID_INDEX = 'conveyor_event_id_idx';
export const EVENT_ID_INDEX_SQL = `CREATE INDEX IF NOT EXISTS ${EVENT_ID_INDEX} ON bullmq.event (id)`;

const BATCH = 256;
const GAP_POLL_MS = 5;

const READ = `
SELECT id, CASE WHEN queue = $1 THEN event END AS event, CASE WHEN queue = $1 THEN data END AS data
  FROM event WHERE id > $2 ORDER BY id LIMIT ${BATCH}`;
const START = 'SELECT COALESCE(max(id), 0)::text AS id FROM event';

export interface OrderedEventsOptions {
  /** How long an id may stay missing (its transaction not yet committed) before it is given up. */
  readonly settleMs: number;
}

export function readEventsInOrder(backend: PostgresQueueBackend, queue: string, opts: OrderedEventsOptions): void {
  const target = backend as unknown as Fetching;
  if (typeof target.fetchEvents !== 'function') {
    throw new Error('BullMQ PostgresQueueBackend no longer has fetchEvents(): review src/tasks/ordered-events.ts for this BullMQ version');
  }
  const { pool } = backend.connection;
  let head: bigint | undefined; // every id up to here is delivered or given up
  // Where the stream starts, like BullMQ's '$' (events from now on). Asked for at once, when
  // the listener is created, rather than once the event connection is set up: a task
  // enqueued just after subscribing is then followed from its first event.
  const startAt = () => pool.query<{ id: string }>(START).then((r) => BigInt(r.rows[0]!.id));
  let starting: Promise<bigint> | undefined = startAt();
  starting.catch(() => undefined); // a failure is met again (and retried) by the first read
  // The ids (head, upTo] were missing when first seen, at `since`.
  let gap: { upTo: bigint; since: number } | undefined;

  /** One batch: this queue's entries up to the first gap, and whether to read again at once. */
  const read = async (): Promise<{ out: StreamEntry[]; next: 'now' | 'soon' | 'done' }> => {
    const { rows } = await pool.query<EventRow>(READ, [queue, head!.toString()]);
    const out: StreamEntry[] = [];
    for (const r of rows) {
      const id = BigInt(r.id);
      if (id !== head! + 1n) {
        const now = Date.now();
        if (!gap || head! + 1n > gap.upTo) gap = { upTo: id - 1n, since: now };
        if (now - gap.since < opts.settleMs) return { out, next: 'soon' };
        // Given up: rolled back, or committing too late to be told in order.
      }
      head = id;
      if (gap && head >= gap.upTo) gap = undefined;
      if (r.event !== null) out.push({ id: r.id, fields: toFields(r.event, r.data) });
    }
    return { out, next: rows.length === BATCH ? 'now' : 'done' };
  };

  target.fetchEvents = async (): Promise<StreamEntry[]> => {
    await backend.connection.waitUntilReady();
    if (head === undefined) {
      try {
        head = await (starting ?? startAt());
      } finally {
        starting = undefined;
      }
    }
    for (;;) {
      if (backend.connection.isClosing) return []; // BullMQ's wait then sees the close and ends the read
      const { out, next } = await read();
      if (out.length > 0 || next === 'done') return out;
      // Behind a gap with nothing to deliver: its transaction usually commits within
      // milliseconds, sooner than BullMQ's next wake-up. A full batch of other queues'
      // events: read on.
      if (next === 'soon') await sleep(GAP_POLL_MS);
    }
  };
}

function toFields(event: string, data: Record<string, unknown> | null): string[] {
  const fields = ['event', event];
  for (const [k, v] of Object.entries(data ?? {})) fields.push(k, typeof v === 'string' ? v : String(v));
  return fields;
}
