/**
 * `defineTask`: one small typed declaration per task — its name, the TypeBox schema of
 * its payload, the handler and its options (Celery's `@app.task(...)`).
 */
import type { Logger } from 'pino';
import type { Static, TSchema } from 'typebox';
import type { Canvas } from './signature.ts';
import type { SignatureOptions } from './canvas.ts';

/** What a handler receives besides its payload. `P`: the type of `previous`. */
export interface TaskContext<P = unknown> {
  readonly taskId: string;
  readonly name: string;
  /**
   * In a workflow: the previous step's result (a chain's predecessor), or the array of results
   * of the group or chord header before it, in order. Undefined outside a workflow.
   */
  readonly previous: P | undefined;
  /** The workflow this task belongs to, if any. */
  readonly workflowId: string | undefined;
  /** Aborted on timeout, on revocation and on worker shutdown past its grace period. */
  readonly signal: AbortSignal;
  /** A pino child carrying `task_id` and `task`. */
  readonly log: Logger;
  /** 1 on the first run, 2 on the first retry… */
  readonly attempt: number;
  /** Report progress (0..100, or any JSON-able value). */
  progress(value: number | object): Promise<void>;
}

export interface BackoffOptions {
  /** `exponential`: delay × 2^(retry-1); `fixed`: the same delay every time. Default `exponential`. */
  readonly type?: 'exponential' | 'fixed';
  /** First delay in ms. Default 1000. */
  readonly delayMs?: number;
  /** Ceiling on any one delay in ms. Default 60_000. */
  readonly maxDelayMs?: number;
}

/** A periodic schedule: the task runs once per tick however many workers run. */
export interface ScheduleOptions {
  /** Cron expression, 5 or 6 fields (seconds first when 6). */
  readonly cron?: string;
  /** Or a fixed interval in ms. */
  readonly everyMs?: number;
  readonly tz?: string;
}

export interface TaskOptions<P = unknown> {
  /** Queue the task goes to. Default `default`. */
  readonly queue?: string;
  /** Retries after the first failure. Default 0. */
  readonly retries?: number;
  readonly backoff?: BackoffOptions;
  /** Per-run time limit; the run ends FAILURE `timeout` even if the handler ignores the signal. Default none. */
  readonly timeoutMs?: number;
  /** 1 (highest) .. 2_097_152. Default unset (FIFO). */
  readonly priority?: number;
  /** Seconds a finished task is kept. Default TASK_RESULT_TTL. */
  readonly resultTtl?: number;
  /** Huey's `store_none`/Celery's `ignore_result`: keep the state but not the return value. Default true. */
  readonly storeResult?: boolean;
  /** Run periodically with these arguments. */
  readonly schedule?: ScheduleOptions & { readonly args?: P };
  /**
   * At most `limit` starts per `perMs`, across every worker of the deployment, spaced evenly
   * (`perMs / limit` apart); with `key`, per key of the payload (per tenant). A task over its
   * limit waits, PENDING with the reason shown, and starts in its slot. Celery's `rate_limit`,
   * but global rather than per worker.
   */
  readonly rateLimit?: { readonly limit: number; readonly perMs: number; readonly key?: (payload: P) => string };
  /** At most `limit` running at once, across the deployment; with `key`, per key of the payload. */
  readonly concurrency?: { readonly limit: number; readonly key?: (payload: P) => string };
}

/**
 * Celery interoperability (docs/celery.md): with CELERY_BROKER_URL set, Conveyor's workers also
 * run Celery messages (protocol v2, JSON) sent to `name` by Python code, and write results
 * Celery's Redis result backend holds, so `AsyncResult(id).get()` works in Python.
 */
export interface CeleryBinding<P = unknown> {
  /** The Celery task name Python code sends (`proj.tasks.add`). */
  readonly name: string;
  /** The payload fields Celery's positional arguments map to, in order; keyword arguments map by name. Default none. */
  readonly args?: readonly (keyof P & string)[];
}

export type TaskHandler<P, R, Prev = unknown> = (payload: P, ctx: TaskContext<Prev>) => Promise<R>;

export interface TaskDefinition<S extends TSchema = TSchema, R = unknown, Prev = unknown> {
  readonly name: string;
  readonly payload: S;
  readonly handler: TaskHandler<Static<S>, R, Prev>;
  readonly options: TaskOptions<Static<S>>;
  /** The Celery task name (and argument order) Conveyor's workers also answer to, if any. */
  readonly celery?: CeleryBinding<Static<S>>;
  /** A signature of this task (Celery's `task.s(...)`), for chains, groups and chords. */
  s(args: Static<S>, options?: SignatureOptions): Canvas<R, Prev>;
}

/** Any task, whatever its payload and result types (for registries). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a registry holds tasks of every previous type
export type AnyTask = TaskDefinition<TSchema, unknown, any>;

const NAME = /^[a-z][a-z0-9_.:-]{0,99}$/i;

/**
 * `Prev`, the type of `ctx.previous`, comes from the handler's annotation
 * (`async handler(payload, ctx: TaskContext<number[]>)`); `chain`/`chord` then check that the
 * step before gives that.
 */
export function defineTask<S extends TSchema, R, Prev = unknown>(def: {
  name: string;
  payload: S;
  handler: TaskHandler<Static<S>, R, Prev>;
  options?: TaskOptions<Static<S>>;
  celery?: CeleryBinding<Static<S>>;
}): TaskDefinition<S, R, Prev> {
  if (!NAME.test(def.name)) throw new Error(`task name ${JSON.stringify(def.name)}: letters, digits and _.:- only`);
  const o = def.options ?? {};
  for (const [what, limit] of [['rateLimit', o.rateLimit], ['concurrency', o.concurrency]] as const) {
    if (limit && (!Number.isInteger(limit.limit) || limit.limit < 1)) throw new Error(`task ${def.name}: ${what}.limit must be a positive integer`);
  }
  if (o.rateLimit && !(o.rateLimit.perMs > 0)) throw new Error(`task ${def.name}: rateLimit.perMs must be positive`);
  if (def.celery && !/^[A-Za-z_][\w.:-]{0,199}$/.test(def.celery.name)) throw new Error(`task ${def.name}: celery.name ${JSON.stringify(def.celery.name)} is not a task name`);
  const name = def.name;
  return Object.freeze({
    name,
    payload: def.payload,
    handler: def.handler,
    options: Object.freeze({ ...o }),
    ...(def.celery ? { celery: Object.freeze({ name: def.celery.name, args: Object.freeze([...(def.celery.args ?? [])]) }) } : {}),
    s: (args: Static<S>, options?: SignatureOptions) => ({ task: name, args, ...(options ? { options } : {}) }) as Canvas<R, Prev>,
  });
}

/**
 * Thrown by a handler when retrying cannot help (bad input, a refused address…): the task
 * ends FAILURE at once. BullMQ's `UnrecoverableError` works too.
 */
export class NonRetryableError extends Error {
  override name = 'NonRetryableError';
}

/** The run took longer than its `timeoutMs`. */
export class TaskTimeoutError extends Error {
  override name = 'TaskTimeoutError';
  constructor() {
    super('timeout');
  }
}

/** The task was revoked while it ran. */
export class TaskRevokedError extends Error {
  override name = 'TaskRevokedError';
  constructor(reason = 'revoked') {
    super(reason);
  }
}
