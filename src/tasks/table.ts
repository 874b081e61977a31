/**
 * The task engine's own tables (schema `app`, migrated like the rest, in every mode): one row
 * per task — what the API, the dashboard, live events and retention read, with plain SQL —
 * worker heartbeats, per-minute history and cumulative counters. BullMQ (schema `bullmq`, or
 * Redis) only delivers, retries and schedules: it keeps no task once it has run.
 */
import { sql } from 'drizzle-orm';
import { bigint, boolean, check, index, integer, jsonb, primaryKey, real, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { app } from '../db/pg-schema.ts';
import { taskStates, type TaskOrigin } from './types.ts';

/** The enqueue options a row keeps, so a relay can send it to the broker as it was asked. */
export interface StoredOptions {
  readonly retries?: number;
  readonly timeoutMs?: number;
  readonly priority?: number;
  readonly origin?: TaskOrigin;
  readonly attemptsBefore?: number;
  /** ms since the epoch. */
  readonly expiresAt?: number;
}

const stateList = sql.raw(taskStates.map((s) => `'${s}'`).join(', '));

export const tasks = app.table(
  'tasks',
  {
    id: uuid('id').primaryKey(),
    /** Insertion order: the listing's stable keyset cursor. */
    seq: bigint('seq', { mode: 'number' }).notNull().generatedAlwaysAsIdentity().unique('tasks_seq_key'),
    name: text('name').notNull(),
    queue: text('queue').notNull(),
    state: text('state', { enum: taskStates }).notNull(),
    args: jsonb('args').notNull(),
    result: jsonb('result'),
    error: text('error'),
    traceback: text('traceback'),
    /** Runs started so far (1 on the first run). */
    attempts: integer('attempts').notNull().default(0),
    /** Attempts that failed and were retried. */
    retries: integer('retries').notNull().default(0),
    /** Per-enqueue overrides (retries, timeoutMs, priority), for a task handed to the broker later. */
    options: jsonb('options').$type<StoredOptions>().notNull().default({}),
    createdBy: bigint('created_by', { mode: 'number' }),
    requestId: text('request_id'),
    traceId: text('trace_id'),
    workerId: text('worker_id'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    /** Not before this (a countdown); null = at once. */
    runAt: timestamp('run_at', { withTimezone: true }),
    startedAt: timestamp('started_at', { withTimezone: true }),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
    /** A finished task is deleted after this (its TTL); null = kept until the count trim. */
    expiresAt: timestamp('expires_at', { withTimezone: true }),
    /**
     * Handed to the broker. A task enqueued inside a caller's transaction is written first and
     * sent after the commit; one whose send was lost (a crash in between) is found by this flag.
     */
    dispatched: boolean('dispatched').notNull().default(false),
    /** The workflow (canvas) it belongs to, if any. */
    workflowId: uuid('workflow_id'),
    /** Tasks of its workflow that must succeed before it may run. */
    deps: uuid('deps').array(),
    /** Of those, how many have not succeeded yet: it is handed to the broker when this reaches 0. */
    remaining: integer('remaining').notNull().default(0),
    /** What `ctx.previous` is built from: a task id, or an array of these (a group's results). */
    previous: jsonb('previous').$type<PreviousSpec>(),
    /** Unique tasks: while one of this name and key is unfinished (or finished recently), no other is made. */
    uniqueKey: text('unique_key'),
    /** Why a PENDING task is not running yet (a rate or concurrency limit, a workflow step waiting), for the dashboard. */
    waiting: text('waiting'),
    /**
     * A task Python Celery workers run: `outbound` (sent by Conveyor, a `defineCeleryTask`; its
     * state follows the result backend) or `events` (seen in the Celery cluster's events).
     */
    celerySource: text('celery_source', { enum: ['outbound', 'events'] }),
    /** The Celery worker (hostname) that received or ran it, from the events. */
    celeryWorker: text('celery_worker'),
  },
  (t) => [
    check('tasks_state_check', sql`${t.state} in (${stateList})`),
    index('tasks_state_seq_idx').on(t.state, t.seq),
    index('tasks_name_seq_idx').on(t.name, t.seq),
    index('tasks_created_by_seq_idx').on(t.createdBy, t.seq),
    index('tasks_created_at_idx').on(t.createdAt),
    index('tasks_expires_at_idx').on(t.expiresAt).where(sql`${t.expiresAt} is not null`),
    index('tasks_undispatched_idx').on(t.seq).where(sql`not ${t.dispatched} and ${t.state} = 'PENDING'`),
    // `q`: text in the arguments, found through trigrams (pg_trgm) instead of a scan.
    index('tasks_args_trgm_idx').using('gin', sql`(${t.args}::text) gin_trgm_ops`),
    index('tasks_workflow_idx').on(t.workflowId).where(sql`${t.workflowId} is not null`),
    index('tasks_unique_idx').on(t.name, t.uniqueKey, t.seq).where(sql`${t.uniqueKey} is not null`),
    // What the Celery result follower reads back: outbound tasks not finished yet.
    index('tasks_celery_unfinished_idx').on(t.seq).where(sql`${t.celerySource} = 'outbound' and ${t.state} in ('PENDING', 'STARTED', 'RETRY')`),
  ],
);

/**
 * `ctx.previous` of a workflow step: a task's result (`{ "task": id }`), or an array whose
 * items are specs themselves (a group's results, in order).
 */
export type PreviousSpec = { readonly task: string } | readonly PreviousSpec[];

/** A workflow (Celery's canvas): its shape as submitted, each signature with its task id. The state is its tasks'. */
export const workflows = app.table('workflows', {
  id: uuid('id').primaryKey(),
  canvas: jsonb('canvas').notNull(),
  /** The workflow's result, as a PreviousSpec over its tasks (the last step's, a group's array…). */
  output: jsonb('output').$type<PreviousSpec>().notNull(),
  createdBy: bigint('created_by', { mode: 'number' }),
  requestId: text('request_id'),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  /** Set by a revocation of the whole workflow. */
  revokedAt: timestamp('revoked_at', { withTimezone: true }),
});

/**
 * The steps a task's success counts down, one row per dependency of a waiting workflow step:
 * a finished task finds the steps waiting for it by its id (a wide chord's countdown reads one
 * row per header instead of the body's whole `deps`). A step's rows go once it is handed over
 * or cancelled; retention removes those of steps finished any other way.
 */
export const taskWaits = app.table(
  'task_waits',
  {
    upstream: uuid('upstream').notNull(),
    step: uuid('step').notNull(),
  },
  (t) => [primaryKey({ columns: [t.upstream, t.step] }), index('task_waits_step_idx').on(t.step)],
);

/**
 * Rate limits across the deployment (GCRA): per task name and key, the time the next start
 * may take; each start reserves the slot after the last, `perMs / limit` apart.
 */
export const taskRates = app.table('task_rates', {
  key: text('key').primaryKey(),
  nextAt: timestamp('next_at', { withTimezone: true, precision: 6 }).notNull(),
});

/**
 * Concurrency limits across the deployment: one lease per running task of a limited name
 * and key, renewed while it runs, so a crashed worker's leases lapse.
 */
export const taskLeases = app.table(
  'task_leases',
  {
    key: text('key').notNull(),
    taskId: uuid('task_id').notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.key, t.taskId] })],
);

export type TaskRow = typeof tasks.$inferSelect;

/** One row per worker process, upserted by its heartbeat (every ~2 s). */
export const taskWorkers = app.table('task_workers', {
  id: text('id').primaryKey(),
  host: text('host').notNull(),
  pid: integer('pid').notNull(),
  queues: text('queues').array().notNull(),
  concurrency: integer('concurrency').notNull(),
  active: integer('active').notNull().default(0),
  processed: bigint('processed', { mode: 'number' }).notNull().default(0),
  failed: bigint('failed', { mode: 'number' }).notNull().default(0),
  memoryBytes: bigint('memory_bytes', { mode: 'number' }).notNull().default(0),
  startedAt: timestamp('started_at', { withTimezone: true }).notNull(),
  lastSeen: timestamp('last_seen', { withTimezone: true }).notNull(),
  /** A Celery worker (seen in its events): its heartbeat frequency in seconds; it is offline after twice that. Null for Conveyor's. */
  celeryFreq: real('celery_freq'),
  /** A Celery worker's load average (1, 5, 15 min) from its heartbeat. */
  celeryLoadavg: jsonb('celery_loadavg').$type<number[]>(),
  /** A Celery worker that said `worker-offline`. */
  celeryOffline: boolean('celery_offline').notNull().default(false),
});

/**
 * Per-minute task history per worker, written in batches off the hot path. Runtimes are
 * kept as a log-scale histogram so percentiles can be merged across workers.
 */
export const taskStatsMinute = app.table(
  'task_stats_minute',
  {
    minute: timestamp('minute', { withTimezone: true }).notNull(),
    workerId: text('worker_id').notNull(),
    succeeded: integer('succeeded').notNull().default(0),
    failed: integer('failed').notNull().default(0),
    retried: integer('retried').notNull().default(0),
    runtimeHist: integer('runtime_hist').array().notNull(),
  },
  (t) => [primaryKey({ columns: [t.minute, t.workerId] })],
);

/**
 * Each worker's running totals per task name and outcome (with a runtime histogram), written
 * with its heartbeat: `/metrics` sums them, so every process exports the deployment's counts
 * whichever one Prometheus scrapes.
 */
export const taskCounters = app.table(
  'task_counters',
  {
    workerId: text('worker_id').notNull(),
    name: text('name').notNull(),
    state: text('state', { enum: taskStates }).notNull(),
    count: bigint('count', { mode: 'number' }).notNull().default(0),
    runtimeSum: bigint('runtime_ms_sum', { mode: 'number' }).notNull().default(0),
    runtimeHist: integer('runtime_hist').array().notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.workerId, t.name, t.state] })],
);
