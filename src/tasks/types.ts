/**
 * The task vocabulary shared by the engine, the task API and the monitor.
 * States carry Celery's meaning; everything else is ours.
 */
import { Type } from 'typebox';
import type { Executor } from './records.ts';

/** The one declaration of the states: the type, the API's schema and the table's check come from it. */
export const taskStates = ['PENDING', 'STARTED', 'RETRY', 'SUCCESS', 'FAILURE', 'REVOKED'] as const;
export type TaskState = (typeof taskStates)[number];
export const TaskStateSchema = Type.Enum(taskStates, { description: 'Celery\'s states: PENDING (waiting), STARTED, RETRY (waiting for another attempt), SUCCESS, FAILURE, REVOKED' });
export const finishedStateList = ['SUCCESS', 'FAILURE', 'REVOKED'] as const satisfies readonly TaskState[];
export const finishedStates: ReadonlySet<TaskState> = new Set(finishedStateList);

/**
 * Where a task came from when it was not enqueued through Conveyor's client: a Celery message
 * (`kind: 'celery'`, with what its result backend needs). Kept with the task and handed to
 * the worker's observer (observer.ts); the engine itself reads only `kind`.
 */
export interface TaskOrigin {
  readonly kind: string;
  readonly [key: string]: unknown;
}

/** One task as the API and the dashboard see it. */
export interface TaskRecord {
  readonly id: string;
  readonly name: string;
  readonly queue: string;
  readonly state: TaskState;
  readonly args: unknown;
  readonly result?: unknown;
  readonly error?: string;
  readonly traceback?: string;
  /** Retries so far (attempts - 1). */
  readonly retries: number;
  readonly createdBy?: number | null;
  /** The `x-request-id` of the HTTP request that enqueued it. */
  readonly requestId?: string | null;
  /** The W3C trace id of the enqueuing request, when tracing is on. */
  readonly traceId?: string | null;
  readonly createdAt: Date;
  /** When it may run (a countdown); null = at once. */
  readonly runAt?: Date | null;
  /** The workflow it belongs to, if any, and the tasks of it that must succeed first. */
  readonly workflowId?: string | null;
  readonly deps?: readonly string[] | null;
  /** Why a PENDING task is not running yet (a limit, earlier workflow steps). */
  readonly waiting?: string | null;
  readonly startedAt?: Date | null;
  readonly finishedAt?: Date | null;
  readonly runtimeMs?: number | null;
  /** `celery` for a task that came from a Celery message; absent for Conveyor's own. */
  readonly origin?: string;
  /** A task Python Celery workers run: sent by Conveyor (`outbound`) or seen in the cluster's events; the worker that ran it. */
  readonly celery?: { readonly source: 'outbound' | 'events'; readonly worker: string | null };
}

/** A state change, as published to SSE clients and the monitor. */
export interface TaskEvent {
  readonly taskId: string;
  readonly name: string;
  readonly state: TaskState;
  readonly at: Date;
  readonly retries: number;
  readonly result?: unknown;
  readonly error?: string;
}

/** A worker's heartbeat. */
export interface WorkerInfo {
  readonly id: string;
  readonly host: string;
  readonly pid: number;
  readonly queues: readonly string[];
  readonly concurrency: number;
  readonly active: number;
  readonly processed: number;
  readonly failed: number;
  readonly memoryBytes: number;
  readonly startedAt: Date;
  readonly lastSeen: Date;
  readonly online: boolean;
  /** A Python Celery worker, seen in its events: its heartbeat frequency (s) and load average. */
  readonly celery?: { readonly freq: number; readonly loadavg: readonly number[] };
}

/** Options a caller may set per enqueue (the HTTP API's `options`). */
export interface EnqueueOptions {
  /** Run no sooner than this many ms from now (Celery countdown). */
  readonly delayMs?: number;
  /** Overrides the task's retry count. */
  readonly retries?: number;
  /** Overrides the task's timeout. */
  readonly timeoutMs?: number;
  /** 1 (highest) .. 2_097_152; unset = normal FIFO. */
  readonly priority?: number;
  /**
   * Unique tasks: while a task of this name and key is unfinished (or finished less than
   * `uniqueForMs` ago), enqueueing answers that task (`deduplicated: true`) instead of making
   * another, however many callers race.
   */
  readonly uniqueKey?: string;
  readonly uniqueForMs?: number;
  /** A chosen task id (a UUID is generated otherwise); enqueuing an existing id is a no-op. */
  readonly taskId?: string;
  /** Where the task came from (a Celery message), for the worker's observer. */
  readonly origin?: TaskOrigin;
  /** Attempts already made elsewhere (Celery's `retries` header): counted into `ctx.attempt` and the retry budget. */
  readonly attemptsBefore?: number;
  /** Not to be started after this (Celery's `expires`): a task still waiting then ends REVOKED `expired`. */
  readonly expiresAt?: Date;
  /** Who asked (users.id), for visibility rules. */
  readonly createdBy?: number | null;
  /** The enqueuing request's `x-request-id`, kept with the task. */
  readonly requestId?: string;
  /** The enqueuing request's trace id. */
  readonly traceId?: string;
  /**
   * A Drizzle transaction (or the database handle): the task is written in it and exists only
   * if it commits; it is handed to the broker after the commit (Django's
   * `transaction.on_commit(lambda: task.delay(...))`, without the lost-task window).
   */
  readonly tx?: Executor;
}

/** A workflow's state, from its tasks': PENDING, STARTED, SUCCESS (all succeeded), FAILURE, REVOKED. */
export interface WorkflowRecord {
  readonly id: string;
  readonly state: TaskState;
  readonly createdAt: Date;
  /** Once every task has finished. */
  readonly finishedAt: Date | null;
  /** The canvas as submitted, each signature with its `task_id` and `state`. */
  readonly canvas: unknown;
  /** On SUCCESS: the last step's result, or a group's array of results. */
  readonly result?: unknown;
  readonly createdBy: number | null;
  /** Its tasks in document order. */
  readonly tasks: readonly TaskRecord[];
}

export interface WorkflowOptions {
  /** Most tasks allowed (the HTTP API: 1,000). Default 10,000. */
  readonly maxTasks?: number;
  readonly createdBy?: number | null;
  readonly requestId?: string;
  /** As for enqueue: the workflow exists only if this transaction commits. */
  readonly tx?: Executor;
}

/** A page of tasks, newest first. */
export interface TaskPage {
  readonly data: readonly TaskRecord[];
  /** Cursor for the next page, or null. */
  readonly next: string | null;
}

export interface ListTasksQuery {
  readonly state?: TaskState;
  readonly name?: string;
  /** Text contained in the JSON of the arguments (the API's `q`). */
  readonly q?: string;
  /** Matched against the id, the name or the arguments' text (the dashboard's search box). */
  readonly search?: string;
  readonly limit?: number;
  /** A `next` cursor of an earlier page. */
  readonly after?: string;
  /** Only tasks created by this user. */
  readonly createdBy?: number;
  /** Only tasks created at or after / before this time. */
  readonly createdFrom?: Date;
  readonly createdTo?: Date;
}

/** What the broker holds for one queue right now (finished tasks live in the task table, not here). */
export interface QueueCounts {
  readonly queue: string;
  readonly waiting: number;
  readonly active: number;
  readonly delayed: number;
  readonly prioritized: number;
  readonly paused: boolean;
}

/** One minute of task history (for the monitor's charts). */
export interface TaskStatsMinute {
  readonly minute: Date;
  readonly succeeded: number;
  readonly failed: number;
  readonly retried: number;
  readonly p50Ms: number | null;
  readonly p95Ms: number | null;
  readonly p99Ms: number | null;
}
