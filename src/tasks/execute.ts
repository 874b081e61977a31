/**
 * Running one task: the handler gets an AbortSignal; a timer and revocation race it, so
 * a run past its time limit ends `timeout` even when the handler ignores the signal.
 * Errors that retrying cannot fix become BullMQ's UnrecoverableError (no further attempts).
 */
import { UnrecoverableError, type Job } from 'bullmq';
import type { Logger } from 'pino';
import type { TaskJobData } from './backend.ts';
import { NonRetryableError, TaskRevokedError, TaskTimeoutError, type AnyTask, type TaskContext } from './define.ts';
import type { TaskRegistry } from './registry.ts';
import { REVOKED_REASON } from './state.ts';

/** Tasks running in this process, by id: revocation aborts them. */
export type ActiveRuns = Map<string, AbortController>;

export interface RunInput {
  readonly task: AnyTask;
  readonly taskId: string;
  readonly args: unknown;
  readonly attempt: number;
  readonly timeoutMs: number | undefined;
  /** Built on first use: most handlers never log. */
  log(): Logger;
  readonly controller: AbortController;
  progress(value: number | object): Promise<void>;
}

/** Run a handler under its time limit and abort signal; resolves with its result. */
export async function runHandler(input: RunInput): Promise<unknown> {
  return raceAbort(input, () => input.task.handler(input.args as never, context(input)));
}

function context(input: RunInput): TaskContext {
  const { controller } = input;
  let log: Logger | undefined;
  const ctx: TaskContext = {
    taskId: input.taskId,
    name: input.task.name,
    signal: controller.signal,
    get log() {
      return (log ??= input.log());
    },
    attempt: input.attempt,
    progress: input.progress,
  };
  return ctx;
}

/**
 * Race `work` against the run's time limit and its abort signal: whichever comes first
 * settles the run, even when the work ignores the signal.
 */
export async function raceAbort(input: Pick<RunInput, 'controller' | 'timeoutMs'>, work: () => Promise<unknown>): Promise<unknown> {
  const { controller } = input;
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const stop = new Promise<never>((_, reject) => {
    if (input.timeoutMs !== undefined) {
      timer = setTimeout(() => {
        const err = new TaskTimeoutError();
        controller.abort(err);
        reject(err);
      }, input.timeoutMs);
    }
    onAbort = () => reject(controller.signal.reason instanceof Error ? controller.signal.reason : new TaskRevokedError());
    if (controller.signal.aborted) onAbort();
    else controller.signal.addEventListener('abort', onAbort, { once: true });
  });
  stop.catch(() => undefined); // settled by the race below; never unhandled
  try {
    return await Promise.race([work(), stop]);
  } finally {
    clearTimeout(timer);
    if (onAbort) controller.signal.removeEventListener('abort', onAbort);
  }
}

/** BullMQ's failure shape for an error: unrecoverable when retrying cannot help. */
export function toBullError(err: unknown): Error {
  if (err instanceof TaskRevokedError) return new UnrecoverableError(REVOKED_REASON);
  if (err instanceof NonRetryableError) return new UnrecoverableError(err.message);
  if (err instanceof Error) return err;
  return new Error(String(err));
}

/** Runs a handler: in this event loop (runHandler) or in a sandboxed child (pool.ts). */
export type Executor = (input: RunInput, job: Job<TaskJobData>, token: string | undefined) => Promise<unknown>;

export interface ProcessorDeps {
  readonly registry: TaskRegistry;
  readonly active: ActiveRuns;
  readonly logger: Logger;
  /** Ids revoked recently in this process (covers a revocation racing the job's fetch). */
  readonly revoked: Set<string>;
  /** Default: run the handler here. */
  readonly execute?: Executor;
}

/** The abort a sandboxed child receives from its parent (a string code: see pool.ts). */
function abortFromParent(code: unknown): Error {
  return code === 'timeout' ? new TaskTimeoutError() : new TaskRevokedError();
}

/**
 * The BullMQ processor every queue of a worker uses. `signal` is the parent's abort when
 * this runs inside a sandboxed child.
 */
export function createProcessor(deps: ProcessorDeps) {
  const execute = deps.execute ?? runHandler;
  return async (job: Job<TaskJobData>, token?: string, signal?: AbortSignal): Promise<unknown> => {
    const id = job.id ?? '';
    if (job.data.revoked || deps.revoked.has(id)) throw new UnrecoverableError(REVOKED_REASON);
    const task = deps.registry.get(job.name);
    if (!task) throw new UnrecoverableError(`unknown task ${job.name}`);
    const controller = new AbortController();
    signal?.addEventListener('abort', () => controller.abort(abortFromParent(signal.reason)), { once: true });
    deps.active.set(id, controller);
    try {
      const result = await execute({
        task,
        taskId: id,
        args: job.data.args,
        attempt: job.attemptsMade + 1,
        timeoutMs: job.data.timeoutMs ?? task.options.timeoutMs,
        log: () => deps.logger.child({ task_id: id, task: task.name }),
        controller,
        progress: (value) => job.updateProgress(value),
      }, job, token);
      return task.options.storeResult === false ? null : (result ?? null);
    } catch (err) {
      throw toBullError(err);
    } finally {
      deps.active.delete(id);
    }
  };
}
