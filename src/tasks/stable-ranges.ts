/**
 * Stable list order for BullMQ's PostgreSQL backend.
 *
 * BullMQ reads its finished and delayed "lists" as `ORDER BY finished_at_ms` (or
 * `process_at_ms`) with OFFSET/LIMIT. Tasks finishing in the same millisecond are common,
 * and PostgreSQL returns such ties in whatever order the plan gives, which can differ
 * between two reads of different windows. Paging through a list then skips or repeats a
 * task (seen in CI: 719 of 720 finished tasks listed). Redis orders equal scores by member,
 * so there the order is stable.
 *
 * This replaces the backend's `getRanges` for those states with the same order plus the
 * job's sequence number as a tie-breaker; the other states are already ordered by `seq`
 * and keep BullMQ's read. The indexes on (queue, state, finished_at_ms) and
 * (queue, process_at_ms) still drive the read; ties are sorted incrementally.
 */
import type { PostgresQueueBackend } from 'bullmq';

type GetRanges = (types: string[], start?: number, end?: number, asc?: boolean) => Promise<string[][]>;

const ORDERED: Record<string, { where: string; order: string }> = {
  completed: { where: `state = 'completed'`, order: 'finished_at_ms' },
  failed: { where: `state = 'failed'`, order: 'finished_at_ms' },
  delayed: { where: `state = 'delayed'`, order: 'process_at_ms' },
};

const rangeSql = (type: string, asc: boolean): string => {
  const { where, order } = ORDERED[type]!;
  const dir = asc ? 'ASC' : 'DESC';
  return `SELECT id FROM job WHERE queue = $1 AND ${where} ORDER BY ${order} ${dir}, seq ${dir} OFFSET $2 LIMIT $3`;
};

export function stabiliseRanges(backend: PostgresQueueBackend, queue: string): void {
  const target = backend as unknown as { getRanges: GetRanges };
  const original = target.getRanges.bind(backend);
  target.getRanges = async (types, start = 0, end = -1, asc = false) => {
    await backend.connection.waitUntilReady();
    const offset = Math.max(start, 0);
    if (end >= 0 && end < offset) return types.map(() => []);
    const limit = end < 0 ? null : end - offset + 1; // LIMIT NULL: all
    const result: string[][] = [];
    for (const type of types) {
      if (!(type in ORDERED)) {
        result.push((await original([type], start, end, asc))[0] ?? []);
        continue;
      }
      const { rows } = await backend.connection.pool.query<{ id: string }>(rangeSql(type, asc), [queue, offset, limit]);
      result.push(rows.map((r) => r.id));
    }
    return result;
  };
}
