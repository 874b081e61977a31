/**
 * The SQL of Celery tasks and workers in Conveyor's own tables: what the result follower
 * (follow.ts) and the event follower (events.ts) write. Every write is idempotent and never
 * moves a finished task backwards, so any number of processes may follow the same cluster;
 * each change is announced on the task channel like the engine's own (records.ts).
 */
import type pg from 'pg';
import type { Db } from '../../db/client.ts';
import { announcing } from '../records.ts';
import { addMinuteStats, bucketOf, HIST_BUCKETS, type MinuteSample } from '../store.ts';
import { finishedStateList, type TaskState } from '../types.ts';

const FINISHED = finishedStateList.map((s) => `'${s}'`).join(', ');
/** A task first seen in an event that does not carry its name (`task-started` before `task-received`). */
export const UNKNOWN_NAME = 'celery.unknown';

/** A state read from Celery's result backend. */
export interface ResultUpdate {
  readonly id: string;
  readonly state: Exclude<TaskState, 'PENDING'>;
  readonly result?: unknown;
  readonly error?: string;
  readonly traceback?: string;
  readonly doneAt?: Date | null;
  /** STARTED carries the worker's hostname. */
  readonly worker?: string | null;
  readonly ttlSeconds: number;
}

/** A finishing (or retrying) transition this process won, for the history charts. */
export interface Transition {
  readonly id: string;
  readonly state: TaskState;
  readonly worker: string | null;
  readonly runtimeMs: number | null;
}

const RESULTS = announcing(
  `UPDATE app.tasks AS t SET
    state = v.state,
    result = CASE WHEN v.state = 'SUCCESS' THEN v.result END,
    error = CASE WHEN v.state IN ('SUCCESS', 'STARTED') THEN NULL ELSE v.error END,
    traceback = CASE WHEN v.state IN ('SUCCESS', 'STARTED') THEN NULL ELSE v.traceback END,
    retries = t.retries + CASE WHEN v.state = 'RETRY' THEN 1 ELSE 0 END,
    attempts = greatest(t.attempts, t.retries + CASE WHEN v.state IN ('STARTED', 'SUCCESS', 'FAILURE', 'RETRY') THEN 1 ELSE 0 END),
    started_at = CASE WHEN v.state = 'REVOKED' THEN t.started_at ELSE coalesce(t.started_at, least(v.done, now())) END,
    finished_at = CASE WHEN v.state IN (${FINISHED}) THEN v.done END,
    expires_at = CASE WHEN v.state IN (${FINISHED}) THEN v.done + make_interval(secs => v.ttl) END,
    celery_worker = coalesce(v.worker, t.celery_worker),
    dispatched = true,
    waiting = NULL
  FROM (SELECT id, state, result, error, traceback, coalesce(done, now()) AS done, ttl, worker
        FROM unnest($1::uuid[], $2::text[], $3::jsonb[], $4::text[], $5::text[], $6::timestamptz[], $7::int[], $9::text[]) AS u(id, state, result, error, traceback, done, ttl, worker)) v
  WHERE t.id = v.id AND t.celery_source = ANY($8::text[]) AND t.state NOT IN (${FINISHED}) AND t.state IS DISTINCT FROM v.state`,
  ['celery_worker', 'started_at', 'finished_at'],
);

type ChangedRow = { id: string; state: TaskState; celery_worker: string | null; started_at: Date | null; finished_at: Date | null };

const transitions = (rows: readonly ChangedRow[]): Transition[] =>
  rows.map((r) => ({
    id: r.id,
    state: r.state,
    worker: r.celery_worker,
    runtimeMs: r.started_at && r.finished_at ? Math.max(0, r.finished_at.getTime() - r.started_at.getTime()) : null,
  }));

/**
 * Apply result-backend states to Celery tasks of these sources (`outbound` by default: the
 * result follower; `events`: the event follower's read-back of tasks whose events were
 * missed); answers the transitions made.
 */
export async function applyResults(pool: pg.Pool, updates: readonly ResultUpdate[], sources: readonly ('outbound' | 'events')[] = ['outbound']): Promise<Transition[]> {
  if (updates.length === 0) return [];
  const seen = new Map(updates.map((u) => [u.id, u])); // the last state read of each task
  const list = [...seen.values()];
  const { rows } = await pool.query<ChangedRow>(RESULTS, [
    list.map((u) => u.id),
    list.map((u) => u.state),
    list.map((u) => (u.state === 'SUCCESS' ? JSON.stringify(u.result ?? null) : null)),
    list.map((u) => u.error ?? null),
    list.map((u) => u.traceback ?? null),
    list.map((u) => u.doneAt?.toISOString() ?? null),
    list.map((u) => u.ttlSeconds),
    sources,
    list.map((u) => u.worker ?? null),
  ]);
  return transitions(rows);
}

/** Outbound Celery tasks not finished yet, oldest first (what the follower reads back). */
export async function unfinishedOutbound(pool: pg.Pool, limit: number): Promise<string[]> {
  const { rows } = await pool.query<{ id: string }>(
    `SELECT id::text AS id FROM app.tasks WHERE celery_source = 'outbound' AND state IN ('PENDING', 'STARTED', 'RETRY') ORDER BY seq LIMIT $1`,
    [limit],
  );
  return rows.map((r) => r.id);
}

/** Tasks seen in events, not finished, last changed more than `quietMs` ago: their finishing event may be lost. */
export async function quietEventTasks(pool: pg.Pool, quietMs: number, limit: number): Promise<string[]> {
  const { rows } = await pool.query<{ id: string }>(
    `SELECT id::text AS id FROM app.tasks WHERE state IN ('PENDING', 'STARTED', 'RETRY') AND celery_source = 'events'
      AND coalesce(started_at, created_at) < now() - make_interval(secs => $1) ORDER BY seq DESC LIMIT $2`,
    [quietMs / 1000, limit],
  );
  return rows.map((r) => r.id);
}

/** One task event of a Celery cluster, as the task table takes it. */
export interface TaskEventRow {
  readonly id: string;
  /** PENDING for task-sent / task-received (fills in the name, arguments and worker only). */
  readonly state: TaskState;
  readonly name: string | null;
  readonly queue: string | null;
  readonly args: unknown;
  readonly at: Date;
  readonly worker: string | null;
  readonly result?: unknown;
  readonly error?: string | null;
  readonly traceback?: string | null;
  readonly runtimeS?: number | null;
  readonly ttlSeconds: number;
}

const EVENT = announcing(
  `INSERT INTO app.tasks AS t (id, name, queue, state, args, created_at, dispatched, celery_source, celery_worker,
      started_at, finished_at, expires_at, result, error, traceback, retries, attempts)
    SELECT v.id, coalesce(v.name, '${UNKNOWN_NAME}'), coalesce(v.queue, 'celery'), v.state, coalesce(v.args, 'null'::jsonb), v.at, true, 'events', v.worker,
      CASE WHEN v.state = 'STARTED' THEN v.at WHEN v.state IN ('SUCCESS', 'FAILURE') THEN v.at - make_interval(secs => coalesce(v.runtime, 0)) END,
      CASE WHEN v.state IN (${FINISHED}) THEN v.at END,
      CASE WHEN v.state IN (${FINISHED}) THEN v.at + make_interval(secs => v.ttl) END,
      CASE WHEN v.state = 'SUCCESS' THEN v.result END, v.error, v.traceback,
      CASE WHEN v.state = 'RETRY' THEN 1 ELSE 0 END, CASE WHEN v.state = 'PENDING' THEN 0 ELSE 1 END
    FROM (VALUES ($1::uuid, $2::text, $3::text, $4::text, $5::jsonb, $6::timestamptz, $7::text, $8::jsonb, $9::text, $10::text, $11::float8, $12::int))
      AS v(id, name, queue, state, args, at, worker, result, error, traceback, runtime, ttl)
  ON CONFLICT (id) DO UPDATE SET
    name = CASE WHEN t.name = '${UNKNOWN_NAME}' THEN excluded.name ELSE t.name END,
    args = CASE WHEN t.args = 'null'::jsonb THEN excluded.args ELSE t.args END,
    celery_worker = coalesce(excluded.celery_worker, t.celery_worker),
    state = CASE WHEN excluded.state = 'PENDING' THEN t.state ELSE excluded.state END,
    started_at = CASE WHEN excluded.state = 'STARTED' THEN excluded.started_at ELSE coalesce(t.started_at, excluded.started_at) END,
    finished_at = coalesce(excluded.finished_at, t.finished_at),
    expires_at = coalesce(excluded.expires_at, t.expires_at),
    result = CASE WHEN excluded.state = 'SUCCESS' THEN excluded.result ELSE t.result END,
    error = CASE WHEN excluded.state IN ('FAILURE', 'RETRY', 'REVOKED') THEN excluded.error WHEN excluded.state = 'STARTED' THEN NULL ELSE t.error END,
    traceback = CASE WHEN excluded.state IN ('FAILURE', 'RETRY') THEN excluded.traceback WHEN excluded.state = 'STARTED' THEN NULL ELSE t.traceback END,
    retries = t.retries + excluded.retries,
    attempts = CASE WHEN excluded.state = 'STARTED' THEN t.retries + 1 ELSE greatest(t.attempts, excluded.attempts) END
  WHERE t.celery_source IS NOT NULL AND t.state NOT IN (${FINISHED})
    AND NOT (t.state = excluded.state AND excluded.state <> 'PENDING')
    -- an outbound task's outcome is its result backend's (real JSON, not a repr): events only show it started, or revoked
    AND NOT (t.celery_source = 'outbound' AND excluded.state IN ('SUCCESS', 'FAILURE', 'RETRY'))`,
  ['celery_worker', 'started_at', 'finished_at'],
);

/** Apply one task event; answers the transition if this process made one. */
export async function applyTaskEvent(pool: pg.Pool, e: TaskEventRow): Promise<Transition[]> {
  const { rows } = await pool.query<ChangedRow>(EVENT, [
    e.id,
    e.name,
    e.queue,
    e.state,
    e.args === undefined ? null : JSON.stringify(e.args),
    e.at.toISOString(),
    e.worker,
    e.state === 'SUCCESS' ? JSON.stringify(e.result ?? null) : null,
    e.error ?? null,
    e.traceback ?? null,
    e.runtimeS ?? null,
    e.ttlSeconds,
  ]);
  // The result follower may have finished an outbound task before its worker's events came in:
  // the record still learns which worker ran it (not a transition, so nothing is counted twice).
  if (rows.length === 0 && e.worker) {
    await pool.query('UPDATE app.tasks SET celery_worker = $2 WHERE id = $1 AND celery_worker IS NULL AND celery_source IS NOT NULL', [e.id, e.worker]);
  }
  return transitions(rows);
}

/** A Celery worker's event: online, heartbeat or offline. */
export interface WorkerEventRow {
  readonly hostname: string;
  readonly kind: 'online' | 'heartbeat' | 'offline';
  readonly pid: number;
  readonly freq: number;
  readonly active: number;
  readonly processed: number;
  readonly loadavg: readonly number[];
}

/** The worker list's id of a Celery worker. */
export const celeryWorkerId = (hostname: string) => `celery:${hostname}`;

export async function upsertCeleryWorker(pool: pg.Pool, w: WorkerEventRow): Promise<void> {
  await pool.query(
    `INSERT INTO app.task_workers AS w (id, host, pid, queues, concurrency, active, processed, failed, memory_bytes, started_at, last_seen, celery_freq, celery_loadavg, celery_offline)
      VALUES ($1, $2, $3, '{}', 0, $4, $5, 0, 0, now(), now(), $6, $7::jsonb, $8)
    ON CONFLICT (id) DO UPDATE SET
      pid = excluded.pid, active = excluded.active, processed = greatest(excluded.processed, CASE WHEN w.pid = excluded.pid THEN w.processed ELSE 0 END),
      last_seen = now(), celery_freq = excluded.celery_freq, celery_loadavg = excluded.celery_loadavg, celery_offline = excluded.celery_offline,
      started_at = CASE WHEN w.pid <> excluded.pid OR w.celery_offline AND NOT excluded.celery_offline THEN now() ELSE w.started_at END,
      failed = CASE WHEN w.pid <> excluded.pid THEN 0 ELSE w.failed END`,
    [celeryWorkerId(w.hostname), w.hostname, w.pid, w.active, w.processed, w.freq, JSON.stringify(w.loadavg), w.kind === 'offline'],
  );
}

/**
 * The transitions this process made, into the history charts (per Celery worker and minute)
 * and the workers' failure counts. Only the process whose statement made a transition counts
 * it, so several followers count each task once.
 */
export async function recordTransitions(db: Db, pool: pg.Pool, made: readonly Transition[]): Promise<void> {
  const byWorker = new Map<string, Map<number, { succeeded: number; failed: number; retried: number; hist: number[] }>>();
  const failures = new Map<string, number>();
  for (const t of made) {
    if (t.state !== 'SUCCESS' && t.state !== 'FAILURE' && t.state !== 'RETRY') continue;
    const worker = celeryWorkerId(t.worker ?? 'celery');
    const minute = Math.floor(Date.now() / 60_000) * 60_000;
    const perMinute = byWorker.get(worker) ?? new Map();
    byWorker.set(worker, perMinute);
    const acc = perMinute.get(minute) ?? { succeeded: 0, failed: 0, retried: 0, hist: new Array<number>(HIST_BUCKETS).fill(0) };
    perMinute.set(minute, acc);
    if (t.state === 'SUCCESS') acc.succeeded++;
    else if (t.state === 'FAILURE') acc.failed++;
    else acc.retried++;
    if (t.state !== 'RETRY' && t.runtimeMs !== null) acc.hist[bucketOf(t.runtimeMs)]!++;
    if (t.state === 'FAILURE') failures.set(worker, (failures.get(worker) ?? 0) + 1);
  }
  for (const [worker, minutes] of byWorker) {
    const samples: MinuteSample[] = [...minutes].map(([m, a]) => ({ minute: new Date(m), ...a }));
    await addMinuteStats(db, worker, samples);
  }
  for (const [worker, n] of failures) await pool.query('UPDATE app.task_workers SET failed = failed + $2 WHERE id = $1', [worker, n]);
}
