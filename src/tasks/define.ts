/**
 * `defineTask`: one small typed declaration per task — its name, the TypeBox schema of
 * its payload, the handler and its options (Celery's `@app.task(...)`).
 */
import type { Logger } from 'pino';
import type { Static, TSchema } from 'typebox';

/** What a handler receives besides its payload. */
export interface TaskContext {
  readonly taskId: string;
  readonly name: string;
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
}

export type TaskHandler<P, R> = (payload: P, ctx: TaskContext) => Promise<R>;

export interface TaskDefinition<S extends TSchema = TSchema, R = unknown> {
  readonly name: string;
  readonly payload: S;
  readonly handler: TaskHandler<Static<S>, R>;
  readonly options: TaskOptions<Static<S>>;
}

/** Any task, whatever its payload and result types (for registries). */
export type AnyTask = TaskDefinition<TSchema, unknown>;

const NAME = /^[a-z][a-z0-9_.:-]{0,99}$/i;

export function defineTask<S extends TSchema, R>(def: {
  name: string;
  payload: S;
  handler: TaskHandler<Static<S>, R>;
  options?: TaskOptions<Static<S>>;
}): TaskDefinition<S, R> {
  if (!NAME.test(def.name)) throw new Error(`task name ${JSON.stringify(def.name)}: letters, digits and _.:- only`);
  return Object.freeze({ name: def.name, payload: def.payload, handler: def.handler, options: Object.freeze({ ...def.options }) });
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
  constructor() {
    super('revoked');
  }
}
