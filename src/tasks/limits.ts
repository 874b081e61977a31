/**
 * Deployment-wide limits of a task (`rateLimit`, `concurrency`), kept in PostgreSQL so every
 * worker of every process sees the same ones, on every broker.
 *
 * - Rate: a generic cell rate algorithm. Per task name (and key), `task_rates.next_at` is the
 *   earliest the next start may take; a start reserves that slot and moves it on by
 *   `perMs / limit`, so starts are spaced evenly and never exceed the rate in any window.
 *   Deliveries arriving together reserve their slots in one statement.
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
  /** The start time reserved for one run of `task` (now, or a later slot). */
  reserveRate(task: AnyTask, payload: unknown): Promise<number>;
  /**
   * May a run of `task` start now? Answers 0 if it may (and counts it), else when to ask again.
   * Starts are `perMs / limit` apart whatever the slots said: a run that comes back late
   * from its slot cannot bunch up with the next one.
   */
  start(task: AnyTask, payload: unknown): Promise<number>;
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

  const reserver = (key: string, intervalMs: number) => {
    let r = rates.get(key);
    if (!r) {
      r = batched<number, number>(async (items) => {
        const n = items.length;
        const { rows } = await fast.query<{ first: Date }>(
          `INSERT INTO app.task_rates AS r (key, next_at) VALUES ($1, now() + make_interval(secs => $2::int * $3::float8 / 1000.0))
           ON CONFLICT (key) DO UPDATE SET next_at = greatest(r.next_at, now()) + make_interval(secs => $2::int * $3::float8 / 1000.0)
           RETURNING next_at - make_interval(secs => $2::int * $3::float8 / 1000.0) AS first`,
          [key, n, intervalMs],
        );
        const first = rows[0]!.first.getTime();
        return items.map((_, i) => first + i * intervalMs);
      }, { maxItems: 500 });
      rates.set(key, r);
    }
    return r;
  };

  return {
    reserveRate(task, payload) {
      const rate = task.options.rateLimit!;
      return reserver(rateKey(task, payload), rate.perMs / rate.limit)(0);
    },
    async start(task, payload) {
      const rate = task.options.rateLimit!;
      const interval = rate.perMs / rate.limit;
      // GCRA without burst at the moment of the start: allowed when its time has come, and
      // the next start is then `interval` later. Exact: never more than `limit` in any `perMs`.
      const { rows } = await fast.query<{ allowed: boolean; next_at: Date }>(
        `WITH tried AS (
           INSERT INTO app.task_rates AS r (key, next_at) VALUES ($1, now() + make_interval(secs => $2::float8 / 1000.0))
           ON CONFLICT (key) DO UPDATE SET next_at = greatest(r.next_at, now()) + make_interval(secs => $2::float8 / 1000.0)
           WHERE r.next_at <= now()
           RETURNING true AS allowed, next_at)
         SELECT allowed, next_at FROM tried
         UNION ALL SELECT false, next_at FROM app.task_rates WHERE key = $1 AND NOT EXISTS (SELECT 1 FROM tried)`,
        [`${rateKey(task, payload)}:start`, interval],
      );
      const row = rows[0]!;
      return row.allowed ? 0 : Math.max(row.next_at.getTime(), Date.now() + 1);
    },
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
