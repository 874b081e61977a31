/**
 * Deployment-wide limits of a task (`rateLimit`, `concurrency`), kept in PostgreSQL so every
 * worker of every process sees the same ones, on every broker.
 *
 * - Rate: a generic cell rate algorithm. Per task name (and key), `task_rates.next_at` is the
 *   earliest the next start may take; a run reserves that slot and moves it on by the spacing
 *   `(perMs + T) / limit`, and starts at its slot (on the database's clock) or up to `T` later
 *   (`T` = `startTolerance`, at most 20 ms and 2% of `perMs`). So any `limit + 1` starts span at
 *   least `perMs`: no window of `perMs` ever holds more than `limit`, while the rate stays within
 *   2% of it. A run that comes back later than `T` (its worker was busy, the broker promoted it
 *   late) gives its slot up and reserves again; an idle key builds no credit. Deliveries
 *   arriving together reserve their slots in one statement.
 * - Concurrency: a lease per running task (`task_leases`), taken under a lock on the key while
 *   fewer than `limit` are live, renewed while the task runs and deleted when it ends; a
 *   crashed worker's leases lapse after `leaseMs`.
 *
 * A task over a limit is not failed: its worker puts the job back until its slot (rate) or
 * for a short while (concurrency), and its row says why it waits.
 */
import type pg from 'pg';
import { batched, type Batched } from '../lib/batch.ts';
import type { AnyTask } from './define.ts';

/** What the spacing needs of a task's `rateLimit`. */
export interface RateLimit {
  readonly limit: number;
  readonly perMs: number;
}

export interface LimiterOptions {
  readonly pool: pg.Pool;
  /**
   * For the rate's hot rows: a pool that commits without waiting for the WAL flush. A limit
   * forgotten by a database crash only lets one more start through.
   */
  readonly fastPool?: pg.Pool;
  /** How long a concurrency lease lives without renewal (a crashed worker's lapse). */
  readonly leaseMs: number;
}

export interface Limiter {
  /**
   * The start time reserved for one run of `task` (now, or a later slot), on the database's
   * clock. Runs arriving together reserve theirs in one statement.
   */
  reserveRate(task: AnyTask, payload: unknown): Promise<number>;
  /** A time of the database's clock (a slot) on this process's clock. */
  toLocal(dbTime: number): number;
  /** A time of this process's clock on the database's (the inverse of `toLocal`). */
  toDb(localTime: number): number;
  /** Take a concurrency slot for `taskId`, or answer false when `limit` are running. */
  acquire(task: AnyTask, payload: unknown, taskId: string): Promise<boolean>;
  release(taskId: string): Promise<void>;
  /** Keep the leases of the running tasks alive. */
  renew(taskIds: readonly string[]): Promise<void>;
}

export const rateKey = (task: AnyTask, payload: unknown) => `rate:${task.name}${task.options.rateLimit?.key ? `:${task.options.rateLimit.key(payload as never)}` : ''}`;
export const concurrencyKey = (task: AnyTask, payload: unknown) => `run:${task.name}${task.options.concurrency?.key ? `:${task.options.concurrency.key(payload as never)}` : ''}`;

export function createLimiter(opts: LimiterOptions): Limiter {
  const { pool } = opts;
  const rates = new Map<string, Batched<number, number>>();
  const leaseKeys = new Map<string, string>();
  const fast = opts.fastPool ?? pool;
  /** The database's clock minus this process's, from the last reservation. */
  let offset = 0;

  const reserver = (key: string, spacingMs: number) => {
    let r = rates.get(key);
    if (!r) {
      r = batched<number, number>(async (items) => {
        const n = items.length;
        const sent = Date.now();
        const { rows } = await fast.query<{ first: Date; now: Date }>({
          name: 'conveyor_rate_reserve',
          text: `INSERT INTO app.task_rates AS r (key, next_at) VALUES ($1, clock_timestamp() + make_interval(secs => $2::int * $3::float8 / 1000.0))
           ON CONFLICT (key) DO UPDATE SET next_at = greatest(r.next_at, clock_timestamp()) + make_interval(secs => $2::int * $3::float8 / 1000.0)
           RETURNING next_at - make_interval(secs => $2::int * $3::float8 / 1000.0) AS first, clock_timestamp() AS now`,
          values: [key, n, spacingMs],
        });
        // The database's clock, seen from here: the middle of the round trip.
        offset = Math.round(rows[0]!.now.getTime() - (sent + Date.now()) / 2);
        const first = rows[0]!.first.getTime();
        return items.map((_, i) => first + i * spacingMs);
      }, { maxItems: 500 });
      rates.set(key, r);
    }
    return r;
  };

  return {
    reserveRate(task, payload) {
      const rate = task.options.rateLimit!;
      return reserver(rateKey(task, payload), rateSpacing(rate))(0);
    },
    toLocal: (dbTime) => dbTime - offset,
    toDb: (localTime) => localTime + offset,
    async acquire(task, payload, taskId) {
      const limit = task.options.concurrency!.limit;
      const key = concurrencyKey(task, payload);
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        // One acquirer of a key at a time: the count and the insert must see each other.
        await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [key]);
        await client.query('DELETE FROM app.task_leases WHERE key = $1 AND expires_at < now()', [key]);
        const { rowCount } = await client.query(
          `INSERT INTO app.task_leases (key, task_id, expires_at)
           SELECT $1, $2, now() + make_interval(secs => $3::float8 / 1000.0)
           WHERE (SELECT count(*) FROM app.task_leases WHERE key = $1 AND task_id <> $2) < $4
           ON CONFLICT (key, task_id) DO UPDATE SET expires_at = excluded.expires_at`,
          [key, taskId, opts.leaseMs, limit],
        );
        await client.query('COMMIT');
        if (rowCount) leaseKeys.set(taskId, key);
        return (rowCount ?? 0) > 0;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    },
    async release(taskId) {
      const key = leaseKeys.get(taskId);
      if (!key) return;
      leaseKeys.delete(taskId);
      await pool.query('DELETE FROM app.task_leases WHERE key = $1 AND task_id = $2', [key, taskId]);
    },
    async renew(taskIds) {
      const held = taskIds.filter((id) => leaseKeys.has(id));
      if (held.length === 0) return;
      await pool.query('UPDATE app.task_leases SET expires_at = now() + make_interval(secs => $2::float8 / 1000.0) WHERE task_id = ANY($1::uuid[])', [held, opts.leaseMs]);
    },
  };
}

/** How late a run may start after its slot: 20 ms, or 2% of `perMs` for shorter periods. */
export const START_TOLERANCE_MS = 20;
export const startTolerance = (rate: RateLimit): number => Math.min(START_TOLERANCE_MS, rate.perMs / 50);
/** The time between two reserved slots: `limit + 1` starts, each up to the tolerance late, still span `perMs`. */
export const rateSpacing = (rate: RateLimit): number => (rate.perMs + startTolerance(rate)) / rate.limit;

/** How long a task waiting for a concurrency slot waits before it tries again. */
export const CONCURRENCY_RETRY_MS = 150;

/** The dashboard's words for why a task waits. */
export function waitingForRate(task: AnyTask, slotAt: number): string {
  const r = task.options.rateLimit!;
  return `rate limit: ${r.limit} per ${r.perMs} ms${r.key ? ' per key' : ''}; its slot is at ${new Date(slotAt).toISOString()}`;
}
export function waitingForConcurrency(task: AnyTask): string {
  const c = task.options.concurrency!;
  return `concurrency limit: ${c.limit} running at once${c.key ? ' per key' : ''}; waiting for one to end`;
}
