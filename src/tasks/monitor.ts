/**
 * What the monitor (the dashboard and /metrics) reads from the task engine: read-only views,
 * two actions and a live event feed. Every TaskClient is one; tests of the monitor's own
 * logic hand in a small fake. Keeping it narrow means the monitor never reaches into BullMQ.
 */
import type { CounterTotal } from './store.ts';
import type { ListTasksQuery, QueueCounts, TaskEvent, TaskPage, TaskRecord, TaskStatsMinute, WorkerInfo, WorkflowRecord } from './types.ts';

export interface TaskMonitor {
  listTasks(query: ListTasksQuery): Promise<TaskPage>;
  getTask(id: string): Promise<TaskRecord | undefined>;
  getWorkflow(id: string): Promise<WorkflowRecord | undefined>;
  /** Revokes an unfinished task; undefined when there is no such task. @throws TaskFinishedError when it already finished */
  revoke(id: string): Promise<TaskRecord | undefined>;
  /** Runs a finished (failed or revoked) task again. @throws TaskFinishedError when it has not finished */
  retry(id: string): Promise<TaskRecord | undefined>;
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
