/**
 * What a worker tells about the tasks that came from elsewhere (an `origin`: a Celery
 * message), so the system they came from hears how they went — Celery's result backend
 * (celery/results.ts). The composition root passes one to the worker; the engine knows
 * nothing of what it does with it.
 */
import type { TaskOrigin } from './types.ts';

export interface TaskTransition {
  readonly taskId: string;
  /** The Conveyor task name. */
  readonly name: string;
  readonly state: 'STARTED' | 'RETRY' | 'SUCCESS' | 'FAILURE' | 'REVOKED';
  readonly origin: TaskOrigin;
  /** 1 on the first run (attempts made elsewhere included). */
  readonly attempt: number;
  /** SUCCESS: the return value. */
  readonly result?: unknown;
  /** RETRY, FAILURE, REVOKED: why. */
  readonly error?: Error;
  /** The worker's host name and process id (Celery's STARTED carries them). */
  readonly hostname: string;
  readonly pid: number;
}

export interface TaskObserver {
  /**
   * Called in order for each task. STARTED is not waited for (the handler starts at once: an
   * observer must keep its writes of one task in call order, e.g. over one connection); a
   * finished state is awaited before the task table records it, so a crash in between runs
   * the task again rather than lose its result. A rejection is logged and does not change the
   * task's outcome.
   */
  transition(t: TaskTransition): Promise<void>;
}
