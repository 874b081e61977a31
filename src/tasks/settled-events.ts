/**
 * A gap-proof read of BullMQ's PostgreSQL event stream.
 *
 * BullMQ reads a queue's events as `id > last id read`, where ids come from a sequence.
 * Transactions take their ids in one order and commit in another: when the `completed`
 * event of task A (id 10) commits after task B's `retry` (id 11) has been read, A's
 * event is skipped forever. The monitor then shows A as STARTED for good, and the metrics
 * never count it. This happened in CI with two tasks finishing at the same moment.
 *
 * The reader here keeps BullMQ's fast path (events past the newest id delivered), and
 * behind it a trailing cursor that re-reads each event once it is `settleMs` old. Any
 * event that committed late, within `settleMs` of taking its id, turns up in that
 * re-read and is delivered then; ids already delivered are skipped. Every event is read
 * at most twice, and the set of delivered ids holds only the last `settleMs` of events.
 *
 * It replaces the backend's event fetch and nothing else: waiting on NOTIFY, the poll
 * timeout and closing stay BullMQ's.
 */
import type { PostgresQueueBackend } from 'bullmq';

/** One stream entry in the shape BullMQ's QueueEvents decodes: id and flat field list. */
type StreamEntry = { id: string; fields: string[] };
interface EventRow {
  id: string;
  event: string;
  data: Record<string, unknown> | null;
  late: boolean;
}
/** The private member this replaces; checked at start so an upgrade that renames it fails loudly. */
interface Fetching {
  fetchEvents(cursor: string): Promise<StreamEntry[]>;
}

const BATCH = 256;

// Part one: past the newest id delivered. Part two: the trailing window, up to the newest
// id delivered, of events at least $4 ms old (by the database's clock, so no skew).
const READ = `
(SELECT id, event, data, false AS late FROM event
  WHERE queue = $1 AND id > $2 ORDER BY id LIMIT ${BATCH})
UNION ALL
(SELECT id, event, data, true AS late FROM event
  WHERE queue = $1 AND id > $3 AND id <= $2
    AND created_at_ms <= (extract(epoch FROM clock_timestamp()) * 1000)::bigint - $4
  ORDER BY id LIMIT ${BATCH})`;

export interface SettledEventsOptions {
  /** How long after taking its id an event's transaction may still commit and be seen. */
  readonly settleMs: number;
  /** Called with the number of events delivered late (they had been skipped by the fast path). */
  readonly onLate?: (count: number) => void;
}

export function settleEventReads(backend: PostgresQueueBackend, queue: string, opts: SettledEventsOptions): void {
  const target = backend as unknown as Fetching;
  if (typeof target.fetchEvents !== 'function') {
    throw new Error('BullMQ PostgresQueueBackend no longer has fetchEvents(): review src/tasks/settled-events.ts for this BullMQ version');
  }
  let head: bigint | undefined; // newest id delivered
  let tail = 0n; // every id up to here is settled
  const delivered = new Set<string>(); // ids in (tail, head]

  target.fetchEvents = async (cursor: string): Promise<StreamEntry[]> => {
    // The first call carries the starting point BullMQ resolved ('$' → the current max id).
    if (head === undefined) head = tail = BigInt(cursor);
    await backend.connection.waitUntilReady();
    if (backend.connection.isClosing) return []; // BullMQ's wait then sees the close and ends the read
    const { rows } = await backend.connection.pool.query<EventRow>(READ, [queue, head.toString(), tail.toString(), opts.settleMs]);
    const out: StreamEntry[] = [];
    let late = 0;
    for (const r of rows) {
      if (r.late) {
        const id = BigInt(r.id);
        if (id > tail) tail = id;
        if (delivered.delete(r.id)) continue;
        late++;
      } else {
        head = BigInt(r.id);
        delivered.add(r.id);
      }
      out.push({ id: r.id, fields: toFields(r) });
    }
    if (late > 0) opts.onLate?.(late);
    // Late events are older: deliver them first.
    return out.sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1));
  };
}

function toFields(r: EventRow): string[] {
  const fields = ['event', r.event];
  for (const [k, v] of Object.entries(r.data ?? {})) fields.push(k, typeof v === 'string' ? v : String(v));
  return fields;
}
