/**
 * What the monitor (dashboard and /metrics) needs from the task engine: read-only views,
 * two actions and a live event feed. The engine's service satisfies it; tests of the
 * monitor's own logic can hand in a small fake. Keeping it narrow means the monitor never
 * reaches into BullMQ itself.
 */
import type { CounterTotal } from '../../tasks/store.ts';
import type { ListTasksQuery, QueueCounts, TaskEvent, TaskPage, TaskRecord, TaskStatsMinute, WorkerInfo, WorkflowRecord } from '../../tasks/types.ts';

export type { ListTasksQuery, QueueCounts, TaskPage, TaskStatsMinute };

export interface TaskMonitor {
  listTasks(query: ListTasksQuery): Promise<TaskPage>;
  getTask(id: string): Promise<TaskRecord | null | undefined>;
  getWorkflow(id: string): Promise<WorkflowRecord | undefined>;
  /** Revokes an unfinished task; throws AppError('conflict') when it already finished. */
  revoke(id: string): Promise<TaskRecord>;
  /** Runs a finished (failed or revoked) task again. */
  retry(id: string): Promise<TaskRecord>;
  listWorkers(): Promise<readonly WorkerInfo[]>;
  /** Queues no online worker consumes. */
  unservedQueues(): Promise<readonly string[]>;
  /** The deployment's running totals of task runs by name and outcome (for /metrics). */
  counters(): Promise<readonly CounterTotal[]>;
  queueCounts(): Promise<readonly QueueCounts[]>;
  /** The last `minutes` minutes of finished-task counts and runtime percentiles, oldest first. */
  history(minutes?: number): Promise<readonly TaskStatsMinute[]>;
  /** Live state changes; returns the unsubscribe function. */
  subscribe(listener: (event: TaskEvent) => void): () => void;
}
