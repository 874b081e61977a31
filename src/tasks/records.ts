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
import { tasks, workflows, type PreviousSpec, type StoredOptions, type TaskRow } from './table.ts';
import { finishedStateList, finishedStates, type TaskRecord, type TaskState } from './types.ts';

/** LISTEN/NOTIFY channel of committed state changes: a JSON array of [id, state, name, retries]. */
export const TASK_CHANNEL = 'conveyor_tasks';
/** Channel of tasks committed but not yet handed to the broker (transactional enqueue). */
export const OUTBOX_CHANNEL = 'conveyor_outbox';
/** Rows per notification: 8,000 bytes is PostgreSQL's limit for a payload. */
const PER_NOTIFICATION = 60;

const FINISHED = finishedStateList.map((s) => `'${s}'`).join(', ');

/**
 * `WITH changed AS (<statement> RETURNING id, state, name, retries)` plus the notification
 * of its rows, in chunks small enough for a payload; answers the changed rows' ids. `also`:
 * more CTEs of the same statement, which may read `changed` (and the `returning` columns).
 */
export function announcing(statement: string, extra: readonly string[] = [], also = '', returning: readonly string[] = []): string {
  const more = extra.map((e) => `, ${e}`).join('');
  return `WITH changed AS (${statement} RETURNING t.id, t.state, t.name, t.retries${[...extra, ...returning].map((e) => `, t.${e}`).join('')}),${also}
    sent AS (
      SELECT pg_notify('${TASK_CHANNEL}', json_agg(json_build_array(id, state, name, retries))::text)
      FROM (SELECT *, (row_number() OVER ()) / ${PER_NOTIFICATION} AS chunk FROM changed) c GROUP BY chunk
    )
    SELECT id::text AS id, state${more} FROM changed WHERE (SELECT count(*) FROM sent) >= 0`;
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
  /** A workflow step: its workflow, the tasks it waits for and what its `ctx.previous` is made of. */
  readonly workflowId?: string;
  readonly deps?: readonly string[];
  readonly previous?: PreviousSpec | null;
  readonly uniqueKey?: string;
  /** A task Python Celery workers run (`defineCeleryTask`): `outbound`. */
  readonly celerySource?: 'outbound';
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
    rows.map((r) => r.workflowId ?? null),
    rows.map((r) => (r.deps?.length ? JSON.stringify(r.deps) : null)),
    rows.map((r) => (r.previous ? JSON.stringify(r.previous) : null)),
    rows.map((r) => r.uniqueKey ?? null),
    rows.map((r) => r.celerySource ?? null),
  ];
}

const INSERT = announcing(`INSERT INTO app.tasks AS t (id, name, queue, state, args, created_by, request_id, trace_id, run_at, dispatched, options,
    workflow_id, deps, remaining, previous, unique_key, waiting, celery_source)
  SELECT id, name, queue, 'PENDING', args, created_by, request_id, trace_id, run_at, dispatched, options,
    workflow_id, ARRAY(SELECT jsonb_array_elements_text(deps)::uuid), coalesce(jsonb_array_length(deps), 0), previous, unique_key,
    CASE WHEN jsonb_array_length(deps) > 0 THEN 'waiting for earlier workflow steps' END, celery_source
  FROM unnest($1::uuid[], $2::text[], $3::text[], $4::jsonb[], $5::bigint[], $6::text[], $7::text[], $8::timestamptz[], $9::boolean[], $10::jsonb[],
      $11::uuid[], $12::jsonb[], $13::jsonb[], $14::text[], $15::text[])
    AS v(id, name, queue, args, created_by, request_id, trace_id, run_at, dispatched, options, workflow_id, deps, previous, unique_key, celery_source)
  ON CONFLICT (id) DO NOTHING`, [], `
    waits AS (INSERT INTO app.task_waits (upstream, step)
      SELECT DISTINCT unnest(c.deps), c.id FROM changed c WHERE c.remaining > 0
      ON CONFLICT DO NOTHING),`, ['deps', 'remaining']);

/** Create tasks in PENDING; an id that exists already is left as it is (an enqueue with a chosen id). */
export async function insertTasks(pool: pg.Pool, rows: readonly NewTask[]): Promise<void> {
  const seen = new Set<string>();
  await pool.query({ name: 'conveyor_task_insert', text: INSERT, values: insertParams(rows.filter((r) => !seen.has(r.id) && seen.add(r.id))) });
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
  /**
   * When a rate limit admitted the run, on the database's clock: its `started_at`, the instant
   * the limit governs (the handler begins once this claim commits). Otherwise the claim's time.
   */
  readonly admittedAt?: Date;
  /** How long the run has gone already (a STARTED written once a run outlasts STARTED_AFTER_MS). */
  readonly ranMs?: number;
}

const CLAIM = announcing(`INSERT INTO app.tasks AS t (id, name, queue, state, args, created_by, request_id, trace_id, created_at, attempts, worker_id, started_at, dispatched)
  SELECT id, name, queue, 'STARTED', args, created_by, request_id, trace_id, created_at, attempt, worker_id,
    greatest(coalesce(admitted_at, now() - make_interval(secs => coalesce(ran_ms, 0) / 1000.0)), created_at), true
  FROM unnest($1::uuid[], $2::text[], $3::text[], $4::jsonb[], $5::bigint[], $6::text[], $7::text[], $8::timestamptz[], $9::int[], $10::text[], $11::timestamptz[], $12::float8[])
    AS v(id, name, queue, args, created_by, request_id, trace_id, created_at, attempt, worker_id, admitted_at, ran_ms)
  ON CONFLICT (id) DO UPDATE SET state = 'STARTED', attempts = excluded.attempts, worker_id = excluded.worker_id,
    started_at = greatest(excluded.started_at, t.created_at), dispatched = true, error = NULL, traceback = NULL, waiting = NULL
  WHERE t.state NOT IN (${FINISHED})`);

/** What the gate reads of a task about to run: `run`, `gone` (finished or revoked: never run it), or `missing` (no row yet). */
export type GateVerdict = 'run' | 'gone' | 'missing';

/**
 * The gate before a handler runs: a task revoked or finished meanwhile (a revocation racing
 * the delivery, a duplicate delivery) is not run. A read, not a write: a short run's STARTED
 * is not written at all (its outcome carries its start), a longer one's once it outlasts
 * STARTED_AFTER_MS, and a revocation after the gate stops the run like any running task's.
 */
export async function gateTasks(pool: pg.Pool, ids: readonly string[]): Promise<GateVerdict[]> {
  const { rows } = await pool.query<{ id: string; state: TaskState }>({
    name: 'conveyor_task_gate',
    text: 'SELECT id::text AS id, state FROM app.tasks WHERE id = ANY($1::uuid[])',
    values: [ids],
  });
  const states = new Map(rows.map((r) => [r.id, r.state]));
  return ids.map((id) => {
    const state = states.get(id);
    return state === undefined ? 'missing' : finishedStates.has(state) ? 'gone' : 'run';
  });
}

/**
 * Mark tasks STARTED (a run that outlasts STARTED_AFTER_MS, or one whose row is missing). A task revoked or
 * finished meanwhile (a revocation racing the delivery, a duplicate delivery) is not
 * claimed, and its handler never runs. A job that has no row yet (a periodic task, or a
 * row whose insert was lost) gets one here. Answers, per claim, whether it is this worker's to run.
 */
export async function claimTasks(pool: pg.Pool, all: readonly Claim[]): Promise<boolean[]> {
  // One statement may not upsert a row twice: of two deliveries of one task, the first claims it.
  const seen = new Set<string>();
  const claims = all.filter((c) => !seen.has(c.id) && seen.add(c.id));
  const { rows } = await pool.query<{ id: string }>({ name: 'conveyor_task_claim', text: CLAIM, values: [
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
    claims.map((c) => c.admittedAt?.toISOString() ?? null),
    claims.map((c) => c.ranMs ?? null),
  ] });
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
  /** The run that ended, when a worker ran it: its attempt and start go in with the outcome. */
  readonly run?: RunFacts;
  /** Part of a workflow (the job says so): its outcome has consequences for other steps. */
  readonly workflow?: boolean;
  /**
   * A run whose gate found no row (its enqueue's insert not committed yet, a periodic task):
   * what the row is made of if it is still missing when the outcome is written.
   */
  readonly row?: Claim;
}

export interface RunFacts {
  readonly attempt: number;
  readonly workerId: string;
  /** This attempt's STARTED is in the row already (it keeps its started_at). */
  readonly recorded: boolean;
  /** How long it ran. */
  readonly ranMs: number;
  /** When a rate limit admitted it, on the database's clock: its start. */
  readonly admittedAt?: Date;
}

/**
 * The workflow consequences of tasks that `changed` (a CTE of id, state, name, retries,
 * workflow_id), in the same statement as the change itself, so each happens exactly once
 * however many workers finish at the same instant:
 * - a task that SUCCEEDED counts down `remaining` of each step waiting for it; a step that
 *   reaches 0 is announced on the outbox channel, and a relay hands it to the broker;
 * - a task that FAILED or was REVOKED revokes every step downstream of it, naming it.
 */
const CASCADE = `
  ended AS (SELECT id, name, workflow_id FROM changed WHERE state IN ('FAILURE', 'REVOKED') AND workflow_id IS NOT NULL),
  downstream(id, cause, cause_name) AS (
    SELECT w.step, e.id, e.name FROM app.task_waits w JOIN ended e ON w.upstream = e.id
    UNION
    SELECT w.step, x.cause, x.cause_name FROM downstream x JOIN app.task_waits w ON w.upstream = x.id
  ),
  cancelled AS (UPDATE app.tasks AS c SET state = 'REVOKED', finished_at = now(), waiting = NULL,
      error = 'upstream task ' || x.cause_name || ' (' || x.cause || ') did not succeed'
    FROM (SELECT DISTINCT ON (id) id, cause, cause_name FROM downstream) x
    WHERE c.id = x.id AND c.state NOT IN (${FINISHED})
    RETURNING c.id, c.state, c.name, c.retries, c.queue),
  succeeded AS (SELECT id, workflow_id FROM changed WHERE state = 'SUCCESS' AND workflow_id IS NOT NULL),
  advanced AS (UPDATE app.tasks AS d SET remaining = d.remaining - x.n,
      waiting = CASE WHEN d.remaining - x.n = 0 THEN NULL ELSE d.waiting END
    FROM (SELECT w.step, count(*) AS n FROM app.task_waits w JOIN succeeded s ON s.id = w.upstream GROUP BY w.step) x
    WHERE d.id = x.step AND d.state = 'PENDING' AND d.id NOT IN (SELECT id FROM downstream)
    RETURNING d.id, d.remaining),
  -- A step handed over waits for nothing any more (a cancelled one keeps its rows: retried, it counts down again).
  unwaited AS (DELETE FROM app.task_waits WHERE step IN (SELECT id FROM advanced WHERE remaining = 0)),
  all_changes AS (SELECT id, state, name, retries FROM changed UNION ALL SELECT id, state, name, retries FROM cancelled),
  sent AS (
    SELECT pg_notify('${TASK_CHANNEL}', json_agg(json_build_array(id, state, name, retries))::text)
    FROM (SELECT *, (row_number() OVER ()) / ${PER_NOTIFICATION} AS chunk FROM all_changes) c GROUP BY chunk
  ),
  ready AS (
    SELECT pg_notify('${OUTBOX_CHANNEL}', string_agg(id::text, ','))
    FROM (SELECT id, (row_number() OVER ()) / 200 AS chunk FROM advanced WHERE remaining = 0) r GROUP BY chunk
  )`;

/** A statement (aliased `t`) whose changed rows get the workflow consequences; answers the changed ids, and the queues of revoked steps. */
function cascading(statement: string): string {
  return `WITH RECURSIVE changed AS (${statement} RETURNING t.id, t.state, t.name, t.retries, t.workflow_id),${CASCADE}
    SELECT id::text AS id, NULL::text AS cancelled_queue FROM changed WHERE (SELECT count(*) FROM sent) >= 0 AND (SELECT count(*) FROM ready) >= 0
    UNION ALL SELECT id::text, queue FROM cancelled`;
}

const outcomeUpdate = (only = '') => `UPDATE app.tasks AS t SET
    state = v.state,
    result = CASE WHEN v.state = 'SUCCESS' THEN v.result ELSE NULL END,
    error = v.error,
    traceback = v.traceback,
    waiting = NULL,
    retries = t.retries + CASE WHEN v.state = 'RETRY' THEN 1 ELSE 0 END,
    run_at = CASE WHEN v.state = 'RETRY' THEN v.run_at ELSE t.run_at END,
    finished_at = CASE WHEN v.state = 'RETRY' THEN NULL ELSE now() END,
    expires_at = CASE WHEN v.state = 'RETRY' OR v.ttl IS NULL THEN NULL ELSE now() + make_interval(secs => v.ttl) END,
    attempts = coalesce(v.attempt, t.attempts),
    worker_id = coalesce(v.worker_id, t.worker_id),
    started_at = CASE WHEN v.attempt IS NULL OR v.recorded THEN t.started_at
      ELSE greatest(t.created_at, coalesce(v.admitted_at, now() - make_interval(secs => v.ran_ms / 1000.0))) END,
    dispatched = true
  FROM unnest($1::uuid[], $2::text[], $3::jsonb[], $4::text[], $5::text[], $6::int[], $7::timestamptz[], $8::int[], $9::text[], $10::boolean[], $11::float8[], $12::timestamptz[])
    AS v(id, state, result, error, traceback, ttl, run_at, attempt, worker_id, recorded, ran_ms, admitted_at)
  WHERE t.id = v.id AND t.state NOT IN (${FINISHED})${only}`;

const OUTCOME = cascading(outcomeUpdate());
/** The same for tasks outside workflows: no consequences to work out, a much cheaper statement. */
const OUTCOME_ALONE = announcing(outcomeUpdate(' AND t.workflow_id IS NULL'));

/** Steps revoked by a cascade: their jobs (if any) may leave the broker. */
export interface Cancelled {
  readonly id: string;
  readonly queue: string;
}

/**
 * Record how runs ended. A task revoked while it ran stays REVOKED. A run that began before its
 * row existed gets the row first (STARTED, with the run's start), then its outcome; one whose
 * row is there by now, as it nearly always is, costs nothing more. Answers the workflow steps
 * this revoked.
 */
export async function recordOutcomes(pool: pg.Pool, outcomes: readonly Outcome[]): Promise<Cancelled[]> {
  const { changed, cancelled } = await applyOutcomes(pool, outcomes);
  const unmade = outcomes.filter((o) => o.row && !changed.has(o.id));
  if (unmade.length === 0) return cancelled;
  // Not changed: finished meanwhile (revoked, say), or no row at all. The claim makes the
  // missing ones and leaves finished ones alone; those it made take their outcome now.
  const made = await claimTasks(pool, unmade.map((o) => o.row!));
  const now = unmade.filter((_, i) => made[i]).map((o) => ({ ...o, run: o.run && { ...o.run, recorded: true } }));
  return [...cancelled, ...(await applyOutcomes(pool, now)).cancelled];
}

async function applyOutcomes(pool: pg.Pool, outcomes: readonly Outcome[]): Promise<{ changed: Set<string>; cancelled: Cancelled[] }> {
  const changed = new Set<string>();
  if (outcomes.length === 0) return { changed, cancelled: [] };
  const values = (list: readonly Outcome[]) => [
    list.map((o) => o.id),
    list.map((o) => o.state),
    list.map((o) => (o.state === 'SUCCESS' ? json(o.result) : null)),
    list.map((o) => o.error ?? null),
    list.map((o) => o.traceback ?? null),
    list.map((o) => o.ttlSeconds ?? null),
    list.map((o) => o.runAt?.toISOString() ?? null),
    list.map((o) => o.run?.attempt ?? null),
    list.map((o) => o.run?.workerId ?? null),
    list.map((o) => o.run?.recorded ?? null),
    list.map((o) => o.run?.ranMs ?? null),
    list.map((o) => o.run?.admittedAt?.toISOString() ?? null),
  ];
  let rest = outcomes;
  if (!outcomes.some((o) => o.workflow)) {
    // Most batches hold no workflow step. One whose row says otherwise after all (or that is
    // finished already, or missing) is left by this statement and goes through the full one below.
    const { rows } = await pool.query<{ id: string }>({ name: 'conveyor_task_outcome_alone', text: OUTCOME_ALONE, values: values(outcomes) });
    for (const r of rows) changed.add(r.id);
    rest = outcomes.filter((o) => !changed.has(o.id));
    if (rest.length === 0) return { changed, cancelled: [] };
  }
  const { rows } = await pool.query<{ id: string; cancelled_queue: string | null }>({ name: 'conveyor_task_outcome', text: OUTCOME, values: values(rest) });
  const cancelled: Cancelled[] = [];
  for (const r of rows) {
    if (r.cancelled_queue === null) changed.add(r.id);
    else cancelled.push({ id: r.id, queue: r.cancelled_queue });
  }
  return { changed, cancelled };
}

const REQUEUE = announcing(`UPDATE app.tasks AS t SET state = 'PENDING', started_at = NULL, worker_id = NULL
  WHERE t.id = $1 AND t.state = 'STARTED'`);

const WAITING = announcing(`INSERT INTO app.tasks AS t (id, name, queue, state, args, created_by, request_id, trace_id, created_at, waiting, run_at, dispatched)
  SELECT id, name, queue, 'PENDING', args, created_by, request_id, trace_id, created_at, waiting, run_at, true
  FROM unnest($1::uuid[], $2::text[], $3::text[], $4::jsonb[], $5::bigint[], $6::text[], $7::text[], $8::timestamptz[], $9::text[], $10::timestamptz[])
    AS v(id, name, queue, args, created_by, request_id, trace_id, created_at, waiting, run_at)
  ON CONFLICT (id) DO UPDATE SET waiting = excluded.waiting, run_at = excluded.run_at, dispatched = true
  WHERE t.state IN ('PENDING', 'RETRY')`);

export interface Waiting {
  readonly task: Omit<Claim, 'attempt' | 'workerId'>;
  readonly why: string;
  readonly until: Date;
}

/**
 * Why tasks wait (a limit), and until when; their state stays PENDING (or RETRY). An upsert,
 * like the claim: a first delivery can arrive before its enqueue has written the row.
 */
export async function markWaiting(pool: pg.Pool, all: readonly Waiting[]): Promise<void> {
  const seen = new Set<string>();
  const w = all.filter((x) => !seen.has(x.task.id) && seen.add(x.task.id));
  await pool.query({ name: 'conveyor_task_waiting', text: WAITING, values: [
    w.map((x) => x.task.id), w.map((x) => x.task.name), w.map((x) => x.task.queue), w.map((x) => json(x.task.args)),
    w.map((x) => x.task.createdBy), w.map((x) => x.task.requestId), w.map((x) => x.task.traceId), w.map((x) => x.task.createdAt.toISOString()),
    w.map((x) => x.why), w.map((x) => x.until.toISOString()),
  ] });
}

/** A running task handed back to the broker (its worker shut down past the grace period): PENDING again. */
export async function requeueTask(pool: pg.Pool, id: string): Promise<void> {
  await pool.query(REQUEUE, [id]);
}

const REVOKE = cascading(`UPDATE app.tasks AS t SET state = 'REVOKED', error = coalesce($3::text, 'revoked'), finished_at = now(), waiting = NULL,
    expires_at = CASE WHEN $2::int IS NULL THEN NULL ELSE now() + make_interval(secs => $2::int) END
  WHERE t.id = $1 AND t.state NOT IN (${FINISHED})`);

/**
 * REVOKED, unless it already finished (then `revoked` is false); the steps of its workflow
 * downstream of it are revoked with it.
 */
export async function revokeTask(pool: pg.Pool, id: string, ttlSeconds: number | undefined, reason?: string): Promise<{ revoked: boolean; cancelled: Cancelled[] }> {
  const { rows } = await pool.query<{ id: string; cancelled_queue: string | null }>(REVOKE, [id, ttlSeconds ?? null, reason ?? null]);
  return {
    revoked: rows.some((r) => r.cancelled_queue === null),
    cancelled: rows.filter((r) => r.cancelled_queue !== null).map((r) => ({ id: r.id, queue: r.cancelled_queue! })),
  };
}

const REVOKE_WORKFLOW = announcing(`UPDATE app.tasks AS t SET state = 'REVOKED', error = 'workflow revoked', finished_at = now(), waiting = NULL
  FROM app.workflows w WHERE w.id = $1 AND t.workflow_id = w.id AND t.state NOT IN (${FINISHED})`);

/** Revoke every unfinished task of a workflow; answers them (their jobs may leave the broker). */
export async function revokeWorkflowTasks(pool: pg.Pool, workflowId: string): Promise<Cancelled[]> {
  await pool.query('UPDATE app.workflows SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL', [workflowId]);
  const { rows } = await pool.query<{ id: string }>(REVOKE_WORKFLOW, [workflowId]);
  if (rows.length === 0) return [];
  const queues = await pool.query<{ id: string; queue: string }>('SELECT id::text AS id, queue FROM app.tasks WHERE id = ANY($1::uuid[])', [rows.map((r) => r.id)]);
  return queues.rows;
}

/** A new workflow and all its tasks, in one transaction; the steps that wait for nothing are announced to the relay. */
export async function insertWorkflow(tx: Executor, wf: { id: string; canvas: unknown; output: PreviousSpec; createdBy: number | null; requestId: string | null }, rows: readonly NewTask[]): Promise<void> {
  await tx.execute(sql`INSERT INTO app.workflows (id, canvas, output, created_by, request_id) VALUES (${wf.id}, ${JSON.stringify(wf.canvas)}::jsonb, ${JSON.stringify(wf.output)}::jsonb, ${wf.createdBy}, ${wf.requestId})`);
  for (let i = 0; i < rows.length; i += 200) await tx.execute(bound(INSERT, insertParams(rows.slice(i, i + 200))));
  const roots = rows.filter((r) => !r.deps?.length).map((r) => r.id);
  for (let i = 0; i < roots.length; i += 200) await tx.execute(sql`SELECT pg_notify(${OUTBOX_CHANNEL}, ${roots.slice(i, i + 200).join(',')})`);
}

/**
 * A unique task's twin, under a lock on its name and key held to the end of the caller's
 * transaction, so concurrent enqueues of one key see each other: the newest task of that
 * name and key that is unfinished, or finished less than `forMs` ago.
 */
export async function lockUniqueTwin(tx: Executor, name: string, key: string, forMs: number): Promise<{ id: string; state: TaskState } | undefined> {
  await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtextextended(${JSON.stringify([name, key])}, 0))`);
  const found = await tx.execute<{ id: string; state: TaskState }>(sql`SELECT id::text AS id, state FROM app.tasks
    WHERE name = ${name} AND unique_key = ${key} AND (finished_at IS NULL OR finished_at > now() - make_interval(secs => ${forMs / 1000}))
    ORDER BY seq DESC LIMIT 1`);
  return found.rows[0];
}

export type WorkflowRow = typeof workflows.$inferSelect;

export async function findWorkflow(db: Db, id: string): Promise<{ workflow: WorkflowRow; tasks: TaskRow[] } | undefined> {
  if (!isTaskId(id)) return undefined;
  const [workflow] = await db.select().from(workflows).where(eq(workflows.id, id)).limit(1);
  if (!workflow) return undefined;
  const steps = await db.select().from(tasks).where(eq(tasks.workflowId, id)).orderBy(tasks.seq);
  return { workflow, tasks: steps };
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
    .where(and(sql`not ${tasks.dispatched}`, eq(tasks.state, 'PENDING'), eq(tasks.remaining, 0), lt(tasks.createdAt, new Date(Date.now() - olderThanMs))))
    .orderBy(tasks.seq)
    .limit(limit);
}

export async function tasksByIds(db: Db, ids: readonly string[]): Promise<TaskRow[]> {
  if (ids.length === 0) return [];
  return db.select().from(tasks).where(sql`${tasks.id} = ANY(${sql.param([...ids])}::uuid[])`);
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
    workflowId: r.workflowId,
    deps: r.deps,
    waiting: r.waiting,
    startedAt: r.startedAt,
    finishedAt: r.finishedAt,
    runtimeMs: runtime,
    ...(r.options.origin ? { origin: r.options.origin.kind } : {}),
    ...(r.celerySource ? { celery: { source: r.celerySource, worker: r.celeryWorker } } : {}),
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
  const text: (SQL | undefined)[] = [
    f.q ? ilike(sql`${tasks.args}::text`, likeText(f.q)) : undefined,
    f.search
      ? or(
          ...(isTaskId(f.search) ? [eq(tasks.id, f.search)] : []),
          ilike(tasks.name, likeText(f.search)),
          ilike(sql`${tasks.args}::text`, likeText(f.search)),
        )
      : undefined,
  ];
  const conditions: (SQL | undefined)[] = [
    f.state ? eq(tasks.state, f.state) : undefined,
    f.name ? eq(tasks.name, f.name) : undefined,
    f.createdBy !== undefined ? eq(tasks.createdBy, f.createdBy) : undefined,
    f.createdFrom ? gte(tasks.createdAt, f.createdFrom) : undefined,
    f.createdTo ? lt(tasks.createdAt, f.createdTo) : undefined,
    f.beforeSeq !== undefined ? lt(tasks.seq, f.beforeSeq) : undefined,
  ];
  let where = and(...conditions, ...text);
  if (f.q || f.search) {
    // A text search through the trigram index first. Ordered by seq with a LIMIT, the planner
    // walks the seq index and filters every row when it overestimates the matches (pg_trgm's
    // estimates are coarse: a search matching 200 of 1,000,000 rows was estimated at 10,000
    // and read half the table, 600–900 ms). Up to TEXT_MATCHES matches are taken from the
    // index and then paged by seq; a search matching more is dense, and the ordered walk finds
    // a page of it quickly.
    const matches = await db.select({ seq: tasks.seq }).from(tasks).where(and(...conditions, ...text)).limit(TEXT_MATCHES + 1);
    if (matches.length <= TEXT_MATCHES) where = and(...conditions, sql`${tasks.seq} = ANY(${`{${matches.map((m) => m.seq).join(',')}}`}::bigint[])`);
  }
  const rows = await db
    .select()
    .from(tasks)
    .where(where)
    .orderBy(desc(tasks.seq))
    .limit(f.limit + 1);
  const more = rows.length > f.limit;
  const page = more ? rows.slice(0, f.limit) : rows;
  return { rows: page, next: more ? encodeCursor(page.at(-1)!.seq) : null };
}

/** How many matches of a text search are read through the trigram index before paging them. */
const TEXT_MATCHES = 10_000;

/** Deleted per statement by the trims, so one trim never holds long locks. */
const TRIM_BATCH = 5_000;

/** Finished tasks past their TTL. Answers how many went. */
/** The dependency rows of steps retention has removed. */
export async function trimWaits(pool: pg.Pool): Promise<number> {
  const { rowCount } = await pool.query(`DELETE FROM app.task_waits w WHERE NOT EXISTS (SELECT 1 FROM app.tasks t WHERE t.id = w.step)`);
  return rowCount ?? 0;
}

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
