/** The one interface every task client implements: BullMQ-backed or eager (inline). */
import type { Static, TSchema } from 'typebox';
import type { TaskDefinition } from './define.ts';
import type { TaskRegistry } from './registry.ts';
import type { CounterTotal } from './store.ts';
import type { CanvasNode } from './canvas.ts';
import type { TaskState, EnqueueOptions, ListTasksQuery, QueueCounts, TaskEvent, TaskPage, TaskRecord, TaskStatsMinute, WorkerInfo, WorkflowOptions, WorkflowRecord } from './types.ts';

export interface Enqueued {
  readonly id: string;
  /** PENDING for a new task; a unique task's twin may be in any state. */
  readonly state: TaskState;
  /** The task that already stands for this unique key. */
  readonly deduplicated?: true;
}

export interface TaskClient {
  readonly registry: TaskRegistry;
  /**
   * Celery's `send_task`: validate `args` against the task's schema and queue it.
   * @throws UnknownTaskError, InvalidArgsError, QueueFullError
   */
  enqueue(name: string, args: unknown, opts?: EnqueueOptions): Promise<Enqueued>;
  /** Celery's `task.delay(...)`, typed by the task's payload. */
  delay<S extends TSchema, R>(task: TaskDefinition<S, R>, args: Static<S>, opts?: EnqueueOptions): Promise<Enqueued>;
  /** Celery's `AsyncResult(id)`; undefined when unknown (or expired). */
  getTask(id: string): Promise<TaskRecord | undefined>;
  /**
   * Celery's canvas: create every task of a chain / group / chord at once; each step runs
   * once those before it succeeded.
   * @throws InvalidCanvasError (an unknown task, bad arguments, an empty list, too big or deep)
   */
  workflow(canvas: CanvasNode, opts?: WorkflowOptions): Promise<{ id: string; tasks: string[] }>;
  getWorkflow(id: string): Promise<WorkflowRecord | undefined>;
  /** Revoke every unfinished task of a workflow. @throws TaskFinishedError when it already finished */
  revokeWorkflow(id: string): Promise<WorkflowRecord | undefined>;
  /** Recent tasks, newest first, filtered and paginated by cursor. */
  listTasks(query?: ListTasksQuery): Promise<TaskPage>;
  /**
   * Revoke: a waiting task never runs; a running one has its signal aborted.
   * @throws TaskFinishedError when it already finished
   */
  revoke(id: string): Promise<TaskRecord | undefined>;
  /** Run a finished task again (same id). @throws TaskFinishedError when it has not finished */
  retry(id: string): Promise<TaskRecord | undefined>;
  queueCounts(): Promise<QueueCounts[]>;
  listWorkers(): Promise<WorkerInfo[]>;
  /** Queues of this registry that no online worker consumes (their tasks would wait unseen). */
  unservedQueues(): Promise<string[]>;
  /** Every worker's running totals of runs by task name and outcome, summed (for /metrics). */
  counters(): Promise<CounterTotal[]>;
  /** Succeeded/failed/retried counts and runtime percentiles per minute, oldest first. */
  history(minutes?: number): Promise<TaskStatsMinute[]>;
  /** Every state change of every task; returns the unsubscribe function. */
  subscribe(listener: (e: TaskEvent) => void): () => void;
  /** Called (without details) whenever task `id` may have changed; returns the unsubscribe function. */
  watch(id: string, onChange: () => void): () => void;
  /**
   * For /readyz: `broker` fails when the broker does not answer; `workers` only warns, naming
   * the queues no online worker consumes.
   */
  readonly readiness: readonly { readonly name: string; check(): Promise<void | string> }[];
  close(): Promise<void>;
}
