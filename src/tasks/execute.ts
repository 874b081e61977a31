/**
 * Running one task: the handler gets an AbortSignal; a timer and revocation race it, so
 * a run past its time limit ends `timeout` even when the handler ignores the signal.
 */
import type { Logger } from 'pino';
import type { TaskJob } from './backend.ts';
import { TaskRevokedError, TaskTimeoutError, type AnyTask, type TaskContext } from './define.ts';
import type { TaskRegistry } from './registry.ts';

export interface RunInput {
  readonly task: AnyTask;
  readonly taskId: string;
  readonly args: unknown;
  readonly attempt: number;
  readonly timeoutMs: number | undefined;
  /** A workflow step's `ctx.previous`, and its workflow. */
  readonly previous?: unknown;
  readonly workflowId?: string | undefined;
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
    previous: input.previous,
    workflowId: input.workflowId,
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

/** Runs a handler: in this event loop (runHandler) or in a sandboxed child (pool.ts). */
export type Executor = (input: RunInput, job: TaskJob, token: string | undefined) => Promise<unknown>;

/** The abort a sandboxed child receives from its parent (a string code: see pool.ts). */
function abortFromParent(code: unknown): Error {
  return code === 'timeout' ? new TaskTimeoutError() : new TaskRevokedError();
}

/**
 * What a sandboxed child runs for a job: the handler under its time limit and the parent's
 * signal, nothing else (the parent claims the task and records how it ended).
 */
export function childProcessor(registry: TaskRegistry, logger: Logger) {
  return async (job: Pick<TaskJob, 'id' | 'name' | 'data' | 'attemptsMade' | 'updateProgress'>, _token?: string, signal?: AbortSignal): Promise<unknown> => {
    const task = registry.get(job.name);
    if (!task) throw new Error(`task ${job.name} is not registered in the sandbox`);
    const controller = new AbortController();
    signal?.addEventListener('abort', () => controller.abort(abortFromParent(signal.reason)), { once: true });
    const id = job.id ?? '';
    return runHandler({
      task,
      taskId: id,
      args: job.data.args,
      attempt: job.attemptsMade + 1,
      timeoutMs: job.data.timeoutMs ?? task.options.timeoutMs,
      previous: job.data.prev,
      workflowId: job.data.wf ?? undefined,
      log: () => logger.child({ task_id: id, task: task.name }),
      controller,
      progress: (value) => job.updateProgress(value),
    });
  };
}
