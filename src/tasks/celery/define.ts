/**
 * `defineCeleryTask`: a task that Python Celery workers run. Conveyor publishes it in
 * Celery's own message format (publish.ts), keeps its record in the task table like any other
 * task, and follows its state in Celery's result backend (follow.ts). No Conveyor worker
 * runs it: its queue is a Celery queue, not one of Conveyor's.
 */
import type { Static, TSchema } from 'typebox';
import { defineTask, NonRetryableError, type AnyTask, type TaskDefinition } from '../define.ts';

/** Where and how a Celery task is sent. */
export interface CeleryTarget {
  /** The Celery task's name, as Python registered it (`proj.tasks.mul`). */
  readonly name: string;
  /** Payload fields sent as positional arguments, in this order; every other field goes as a keyword argument. */
  readonly args: readonly string[];
  /** The Celery queue (a Redis list). Default `celery`. */
  readonly queue: string;
}

/** What a Celery task may set (each also per enqueue, except `softTimeoutMs` and `expiresMs`). */
export interface CeleryTaskOptions {
  /** Celery's hard `time_limit`, in ms (sent as seconds). Default none (the worker's). */
  readonly timeoutMs?: number;
  /** Celery's `soft_time_limit`, in ms. Default none. */
  readonly softTimeoutMs?: number;
  /** Celery's `expires`: a task not started this long after it was sent is discarded (REVOKED). Default none. */
  readonly expiresMs?: number;
  /** Celery's priority, 0 (first) .. 9; unset = 0. */
  readonly priority?: number;
  /** Seconds the finished record is kept in Conveyor's task table. Default TASK_RESULT_TTL. */
  readonly resultTtl?: number;
}

export interface CeleryTaskDefinition<S extends TSchema = TSchema, R = unknown> extends TaskDefinition<S, R> {
  readonly celeryTarget: CeleryTarget;
  readonly celeryOptions: CeleryTaskOptions;
}

const CELERY_NAME = /^[A-Za-z_][A-Za-z0-9_.:-]{0,199}$/;
const QUEUE = /^[A-Za-z0-9_.:-]{1,200}$/;

/**
 * ```ts
 * export const mul = defineCeleryTask({
 *   name: 'py.mul',
 *   celery: { name: 'proj.tasks.mul', args: ['x', 'y'] },   // mul(x, y) in Python
 *   payload: Type.Object({ x: Type.Number(), y: Type.Number() }),
 * });
 * await tasks.delay(mul, { x: 2, y: 3 });                   // a Python worker runs it
 * ```
 */
export function defineCeleryTask<S extends TSchema, R = unknown>(def: {
  name: string;
  celery: { name: string; args: readonly string[]; queue?: string };
  payload: S;
  options?: CeleryTaskOptions;
}): CeleryTaskDefinition<S, R> {
  const { celery } = def;
  if (!CELERY_NAME.test(celery.name)) throw new Error(`task ${def.name}: celery.name ${JSON.stringify(celery.name)} is not a Celery task name`);
  const queue = celery.queue ?? 'celery';
  if (!QUEUE.test(queue)) throw new Error(`task ${def.name}: celery.queue ${JSON.stringify(queue)}: letters, digits and _.:- only`);
  if (new Set(celery.args).size !== celery.args.length) throw new Error(`task ${def.name}: celery.args names a field twice`);
  const o = def.options ?? {};
  if (o.priority !== undefined && !(Number.isInteger(o.priority) && o.priority >= 0 && o.priority <= 9)) throw new Error(`task ${def.name}: priority is Celery's, 0..9`);
  const base = defineTask<S, R>({
    name: def.name,
    payload: def.payload,
    options: { queue, ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}), ...(o.priority !== undefined ? { priority: o.priority } : {}), ...(o.resultTtl !== undefined ? { resultTtl: o.resultTtl } : {}) },
    handler: (_payload: Static<S>) => Promise.reject(new NonRetryableError(`${def.name} runs on Celery workers (${celery.name})`)),
  });
  return Object.freeze({
    ...base,
    celeryTarget: Object.freeze({ name: celery.name, args: Object.freeze([...celery.args]), queue }),
    celeryOptions: Object.freeze({ ...o }),
  });
}

/** The Celery target of a task Python workers run, or undefined for Conveyor's own tasks. */
export function celeryTargetOf(task: AnyTask | undefined): CeleryTarget | undefined {
  return task && 'celeryTarget' in task ? (task as unknown as CeleryTaskDefinition).celeryTarget : undefined;
}

export function celeryOptionsOf(task: AnyTask): CeleryTaskOptions {
  return 'celeryOptions' in task ? (task as unknown as CeleryTaskDefinition).celeryOptions : {};
}
