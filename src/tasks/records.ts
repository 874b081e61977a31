/**
 * The SQL of the task table (table.ts): every write of a task's state, and every read the
 * API, the dashboard and retention make. Writes that happen per task (create, start,
 * outcome) take a batch, so a busy process writes many tasks per statement (lib/batch.ts),
 * and each announces its rows on the `conveyor_tasks` channel in the same statement, so
 * listeners hear of a change only once it is committed (events.ts).
 */
import { createHash } from 'node:crypto';
import { and, desc, eq, gte, ilike, lt, or, sql, type SQL } from 'drizzle-orm';
import type pg from 'pg';
import type { Db } from '../db/client.ts';
import { tasks, type StoredOptions, type TaskRow } from './table.ts';
import { finishedStateList, type TaskRecord, type TaskState } from './types.ts';

/** LISTEN/NOTIFY channel of committed state changes: a JSON array of [id, state, name, retries]. */
export const TASK_CHANNEL = 'conveyor_tasks';
/** Channel of tasks committed but not yet handed to the broker (transactional enqueue). */
export const OUTBOX_CHANNEL = 'conveyor_outbox';
/** Rows per notification: 8,000 bytes is PostgreSQL's limit for a payload. */
const PER_NOTIFICATION = 60;

const FINISHED = finishedStateList.map((s) => `'${s}'`).join(', ');

/**
 * `WITH changed AS (<statement> RETURNING id, state, name, retries)` plus the notification
 * of its rows, in chunks small enough for a payload; answers the changed rows' ids.
 */
function announcing(statement: string): string {
  return `WITH changed AS (${statement} RETURNING t.id, t.state, t.name, t.retries),
    sent AS (
      SELECT pg_notify('${TASK_CHANNEL}', json_agg(json_build_array(id, state, name, retries))::text)
      FROM (SELECT *, (row_number() OVER ()) / ${PER_NOTIFICATION} AS chunk FROM changed) c GROUP BY chunk
    )
    SELECT id::text AS id FROM changed WHERE (SELECT count(*) FROM sent) >= 0`;
}

export interface NewTask {
  readonly id: string;
  readonly name: string;
  readonly queue: string;
  readonly args: unknown;
  readonly createdBy: number | null;
  readonly requestId: string | null;
  readonly traceId: string | null;
  readonly runAt: Date | null;
  readonly options: StoredOptions;
  readonly dispatched: boolean;
}

const json = (v: unknown) => JSON.stringify(v ?? null);

function insertParams(rows: readonly NewTask[]): unknown[] {
  return [
    rows.map((r) => r.id),
    rows.map((r) => r.name),
    rows.map((r) => r.queue),
    rows.map((r) => json(r.args)),
    rows.map((r) => r.createdBy),
    rows.map((r) => r.requestId),
    rows.map((r) => r.traceId),
    rows.map((r) => r.runAt?.toISOString() ?? null),
    rows.map((r) => r.dispatched),
    rows.map((r) => json(r.options)),
  ];
}

const INSERT = announcing(`INSERT INTO app.tasks AS t (id, name, queue, state, args, created_by, request_id, trace_id, run_at, dispatched, options)
  SELECT id, name, queue, 'PENDING', args, created_by, request_id, trace_id, run_at, dispatched, options
  FROM unnest($1::uuid[], $2::text[], $3::text[], $4::jsonb[], $5::bigint[], $6::text[], $7::text[], $8::timestamptz[], $9::boolean[], $10::jsonb[])
    AS v(id, name, queue, args, created_by, request_id, trace_id, run_at, dispatched, options)
  ON CONFLICT (id) DO NOTHING`);

/** Create tasks in PENDING; an id that exists already is left as it is (an enqueue with a chosen id). */
export async function insertTasks(pool: pg.Pool, rows: readonly NewTask[]): Promise<void> {
  const seen = new Set<string>();
  await pool.query(INSERT, insertParams(rows.filter((r) => !seen.has(r.id) && seen.add(r.id))));
}

/** A statement with `$n` placeholders as Drizzle SQL, each value one bound parameter (arrays included). */
function bound(text: string, params: readonly unknown[]): SQL {
  const parts = text.split(/\$(\d+)/);
  return sql.join(parts.map((part, i) => (i % 2 === 0 ? sql.raw(part) : sql`${sql.param(params[Number(part) - 1])}`)), sql.raw(''));
}

/** What runs SQL: the database handle or a transaction of it. */
export type Executor = Pick<Db, 'execute'>;

/**
 * The same, inside a caller's transaction (`tasks.delay(task, args, { tx })`): the rows exist
 * only if it commits, and the outbox notification, sent at the commit, tells a relay to hand
 * them to the broker at once (relay.ts; a relay that misses it finds them later).
 */
export async function insertTasksInTransaction(tx: Executor, rows: readonly NewTask[]): Promise<void> {
  await tx.execute(bound(INSERT, insertParams(rows)));
  await tx.execute(sql`SELECT pg_notify(${OUTBOX_CHANNEL}, ${rows.map((r) => r.id).join(',')})`);
}

export interface Claim {
  readonly id: string;
  readonly name: string;
  readonly queue: string;
  readonly args: unknown;
  readonly createdBy: number | null;
  readonly requestId: string | null;
  readonly traceId: string | null;
  readonly createdAt: Date;
  /** 1 on the first run. */
  readonly attempt: number;
  readonly workerId: string;
}

const CLAIM = announcing(`INSERT INTO app.tasks AS t (id, name, queue, state, args, created_by, request_id, trace_id, created_at, attempts, worker_id, started_at, dispatched)
  SELECT id, name, queue, 'STARTED', args, created_by, request_id, trace_id, created_at, attempt, worker_id, greatest(now(), created_at), true
  FROM unnest($1::uuid[], $2::text[], $3::text[], $4::jsonb[], $5::bigint[], $6::text[], $7::text[], $8::timestamptz[], $9::int[], $10::text[])
    AS v(id, name, queue, args, created_by, request_id, trace_id, created_at, attempt, worker_id)
  ON CONFLICT (id) DO UPDATE SET state = 'STARTED', attempts = excluded.attempts, worker_id = excluded.worker_id,
    started_at = greatest(now(), t.created_at), dispatched = true, error = NULL, traceback = NULL
  WHERE t.state NOT IN (${FINISHED})`);

/**
 * Mark tasks STARTED before their handlers run: the row is the gate. A task revoked or
 * finished meanwhile (a revocation racing the delivery, a duplicate delivery) is not
 * claimed, and its handler never runs. A job that has no row yet (a periodic task, or a
 * row whose insert was lost) gets one here. Answers, per claim, whether it is this worker's to run.
 */
export async function claimTasks(pool: pg.Pool, all: readonly Claim[]): Promise<boolean[]> {
  // One statement may not upsert a row twice: of two deliveries of one task, the first claims it.
  const seen = new Set<string>();
  const claims = all.filter((c) => !seen.has(c.id) && seen.add(c.id));
  const { rows } = await pool.query<{ id: string }>(CLAIM, [
    claims.map((c) => c.id),
    claims.map((c) => c.name),
    claims.map((c) => c.queue),
    claims.map((c) => json(c.args)),
    claims.map((c) => c.createdBy),
    claims.map((c) => c.requestId),
    claims.map((c) => c.traceId),
    claims.map((c) => c.createdAt.toISOString()),
    claims.map((c) => c.attempt),
    claims.map((c) => c.workerId),
  ]);
  const won = new Set(rows.map((r) => r.id));
  return all.map((c) => won.delete(c.id));
}

export interface Outcome {
  readonly id: string;
  readonly state: 'SUCCESS' | 'FAILURE' | 'RETRY';
  readonly result?: unknown;
  readonly error?: string;
  readonly traceback?: string;
  /** Seconds the finished task is kept; undefined = until the count trim. */
  readonly ttlSeconds?: number;
  /** RETRY: when the next attempt may start. */
  readonly runAt?: Date;
}

const OUTCOME = announcing(`UPDATE app.tasks AS t SET
    state = v.state,
    result = CASE WHEN v.state = 'SUCCESS' THEN v.result ELSE NULL END,
    error = v.error,
    traceback = v.traceback,
    retries = t.retries + CASE WHEN v.state = 'RETRY' THEN 1 ELSE 0 END,
    run_at = CASE WHEN v.state = 'RETRY' THEN v.run_at ELSE t.run_at END,
    finished_at = CASE WHEN v.state = 'RETRY' THEN NULL ELSE now() END,
    expires_at = CASE WHEN v.state = 'RETRY' OR v.ttl IS NULL THEN NULL ELSE now() + make_interval(secs => v.ttl) END
  FROM unnest($1::uuid[], $2::text[], $3::jsonb[], $4::text[], $5::text[], $6::int[], $7::timestamptz[])
    AS v(id, state, result, error, traceback, ttl, run_at)
  WHERE t.id = v.id AND t.state NOT IN (${FINISHED})`);

/** Record how runs ended. A task revoked while it ran stays REVOKED. */
export async function recordOutcomes(pool: pg.Pool, outcomes: readonly Outcome[]): Promise<void> {
  await pool.query(OUTCOME, [
    outcomes.map((o) => o.id),
    outcomes.map((o) => o.state),
    outcomes.map((o) => (o.state === 'SUCCESS' ? json(o.result) : null)),
    outcomes.map((o) => o.error ?? null),
    outcomes.map((o) => o.traceback ?? null),
    outcomes.map((o) => o.ttlSeconds ?? null),
    outcomes.map((o) => o.runAt?.toISOString() ?? null),
  ]);
}

const REQUEUE = announcing(`UPDATE app.tasks AS t SET state = 'PENDING', started_at = NULL, worker_id = NULL
  WHERE t.id = $1 AND t.state = 'STARTED'`);

/** A running task handed back to the broker (its worker shut down past the grace period): PENDING again. */
export async function requeueTask(pool: pg.Pool, id: string): Promise<void> {
  await pool.query(REQUEUE, [id]);
}

const REVOKE = announcing(`UPDATE app.tasks AS t SET state = 'REVOKED', error = 'revoked', finished_at = now(),
    expires_at = CASE WHEN $2::int IS NULL THEN NULL ELSE now() + make_interval(secs => $2::int) END
  WHERE t.id = $1 AND t.state NOT IN (${FINISHED})`);

/** REVOKED, unless it already finished: answers whether this call revoked it. */
export async function revokeTask(pool: pg.Pool, id: string, ttlSeconds: number | undefined): Promise<boolean> {
  const { rows } = await pool.query(REVOKE, [id, ttlSeconds ?? null]);
  return rows.length > 0;
}

const RESET = announcing(`UPDATE app.tasks AS t SET state = 'PENDING', result = NULL, error = NULL, traceback = NULL,
    started_at = NULL, finished_at = NULL, expires_at = NULL, run_at = NULL, attempts = 0, retries = 0, dispatched = false
  WHERE t.id = $1 AND t.state IN (${FINISHED})`);

/** Back to PENDING to run again under the same id (the dashboard's retry); false if it has not finished. */
export async function resetTask(pool: pg.Pool, id: string): Promise<boolean> {
  const { rows } = await pool.query(RESET, [id]);
  return rows.length > 0;
}

/** Undo a PENDING row whose job never reached the broker (an enqueue that failed half-way). */
export async function forgetTask(pool: pg.Pool, id: string): Promise<void> {
  await pool.query(`DELETE FROM app.tasks WHERE id = $1 AND state = 'PENDING'`, [id]);
}

export async function markDispatched(pool: pg.Pool, ids: readonly string[]): Promise<void> {
  if (ids.length) await pool.query('UPDATE app.tasks SET dispatched = true WHERE id = ANY($1::uuid[]) AND NOT dispatched', [ids]);
}

/** PENDING tasks not handed to the broker, oldest first, committed at least `olderThanMs` ago. */
export async function undispatched(db: Db, olderThanMs: number, limit: number): Promise<TaskRow[]> {
  return db
    .select()
    .from(tasks)
    .where(and(sql`not ${tasks.dispatched}`, eq(tasks.state, 'PENDING'), lt(tasks.createdAt, new Date(Date.now() - olderThanMs))))
    .orderBy(tasks.seq)
    .limit(limit);
}

export async function tasksByIds(db: Db, ids: readonly string[]): Promise<TaskRow[]> {
  if (ids.length === 0) return [];
  return db.select().from(tasks).where(sql`${tasks.id} = ANY(${[...ids]}::uuid[])`);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isTaskId = (id: string) => UUID.test(id);

/**
 * The task id of a job. Jobs Conveyor enqueues carry their task's UUID as the job id; a
 * periodic task's jobs are named by BullMQ's scheduler (`repeat:…`), and get a UUID derived
 * from that name (v5-style, SHA-1), the same in every worker.
 */
export function taskIdOfJob(jobId: string): string {
  if (isTaskId(jobId)) return jobId.toLowerCase();
  const h = createHash('sha1').update(`conveyor:${jobId}`).digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const hex = h.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export async function findTask(db: Db, id: string): Promise<TaskRow | undefined> {
  if (!isTaskId(id)) return undefined;
  const [row] = await db.select().from(tasks).where(eq(tasks.id, id)).limit(1);
  return row;
}

export function toRecord(r: TaskRow): TaskRecord {
  const runtime = r.startedAt && r.finishedAt ? Math.max(0, r.finishedAt.getTime() - r.startedAt.getTime()) : null;
  return {
    id: r.id,
    name: r.name,
    queue: r.queue,
    state: r.state,
    args: r.args,
    ...(r.state === 'SUCCESS' ? { result: r.result ?? null } : {}),
    ...(r.error !== null ? { error: r.error } : {}),
    ...(r.traceback !== null ? { traceback: r.traceback } : {}),
    retries: r.retries,
    createdBy: r.createdBy,
    requestId: r.requestId,
    traceId: r.traceId,
    createdAt: r.createdAt,
    runAt: r.runAt,
    startedAt: r.startedAt,
    finishedAt: r.finishedAt,
    runtimeMs: runtime,
  };
}

/** The listing's cursor: the `seq` of the last task of a page, opaque to clients. */
export const encodeCursor = (seq: number) => `s${seq.toString(36)}`;
export function decodeCursor(cursor: string): number | undefined {
  if (!/^s[0-9a-z]{1,13}$/.test(cursor)) return undefined;
  const n = Number.parseInt(cursor.slice(1), 36);
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

/** `%`, `_` and `\` are LIKE's own: a search for them finds them literally. */
const likeText = (text: string) => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

export interface ListFilter {
  readonly state?: TaskState;
  readonly name?: string;
  readonly q?: string;
  readonly search?: string;
  readonly createdBy?: number;
  readonly createdFrom?: Date;
  readonly createdTo?: Date;
  /** Only tasks older (listed later) than this cursor position. */
  readonly beforeSeq?: number;
  readonly limit: number;
}

/**
 * Newest first by insertion order, over the whole retained history: a keyset on `seq`, so a
 * page never repeats or skips a task whatever happens between requests (a task keeps its
 * place when its state changes; one created later is not in the pages after the first).
 */
export async function listTaskRows(db: Db, f: ListFilter): Promise<{ rows: TaskRow[]; next: string | null }> {
  const conditions: (SQL | undefined)[] = [
    f.state ? eq(tasks.state, f.state) : undefined,
    f.name ? eq(tasks.name, f.name) : undefined,
    f.createdBy !== undefined ? eq(tasks.createdBy, f.createdBy) : undefined,
    f.createdFrom ? gte(tasks.createdAt, f.createdFrom) : undefined,
    f.createdTo ? lt(tasks.createdAt, f.createdTo) : undefined,
    f.beforeSeq !== undefined ? lt(tasks.seq, f.beforeSeq) : undefined,
    f.q ? ilike(sql`${tasks.args}::text`, likeText(f.q)) : undefined,
    f.search
      ? or(
          ...(isTaskId(f.search) ? [eq(tasks.id, f.search)] : []),
          ilike(tasks.name, likeText(f.search)),
          ilike(sql`${tasks.args}::text`, likeText(f.search)),
        )
      : undefined,
  ];
  const rows = await db
    .select()
    .from(tasks)
    .where(and(...conditions))
    .orderBy(desc(tasks.seq))
    .limit(f.limit + 1);
  const more = rows.length > f.limit;
  const page = more ? rows.slice(0, f.limit) : rows;
  return { rows: page, next: more ? encodeCursor(page.at(-1)!.seq) : null };
}

/** Deleted per statement by the trims, so one trim never holds long locks. */
const TRIM_BATCH = 5_000;

/** Finished tasks past their TTL. Answers how many went. */
export async function trimExpired(pool: pg.Pool): Promise<number> {
  let total = 0;
  for (;;) {
    const { rowCount } = await pool.query(
      `DELETE FROM app.tasks WHERE id IN (SELECT id FROM app.tasks WHERE expires_at < now() LIMIT ${TRIM_BATCH})`,
    );
    total += rowCount ?? 0;
    if ((rowCount ?? 0) < TRIM_BATCH) return total;
  }
}

/** Beyond the newest `keep` finished tasks of one state, the oldest go. Answers how many went. */
export async function trimBeyond(pool: pg.Pool, state: TaskState, keep: number): Promise<number> {
  const { rows } = await pool.query<{ seq: string }>(`SELECT seq FROM app.tasks WHERE state = $1 ORDER BY seq DESC OFFSET $2 LIMIT 1`, [state, keep]);
  const edge = rows[0]?.seq;
  if (edge === undefined) return 0;
  let total = 0;
  for (;;) {
    const { rowCount } = await pool.query(
      `DELETE FROM app.tasks WHERE id IN (SELECT id FROM app.tasks WHERE state = $1 AND seq <= $2 LIMIT ${TRIM_BATCH})`,
      [state, edge],
    );
    total += rowCount ?? 0;
    if ((rowCount ?? 0) < TRIM_BATCH) return total;
  }
}
