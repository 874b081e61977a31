/**
 * What the monitor (dashboard and /metrics) needs from the task engine: read-only views,
 * two actions and a live event feed. The engine's service satisfies it; tests can hand in
 * a small fake. Keeping it narrow means the monitor never reaches into BullMQ itself.
 */
import type { TaskEvent, TaskRecord, TaskState, WorkerInfo } from '../../tasks/types.ts';

export interface TaskQuery {
  readonly state?: TaskState;
  readonly name?: string;
  /** Matches the id, the name or the argument text. */
  readonly search?: string;
  readonly limit: number;
  /** Cursor: the `next` of the previous page. */
  readonly after?: string;
}

export interface TaskPage {
  readonly data: readonly TaskRecord[];
  readonly next: string | null;
}

/** Jobs per state of one queue. */
export interface QueueCounts {
  readonly waiting: number;
  readonly active: number;
  readonly delayed: number;
  readonly failed: number;
  readonly completed: number;
  readonly [state: string]: number;
}

/** One minute of history: finished tasks by outcome and runtime percentiles (ms). */
export interface MinuteStats {
  readonly minute: Date;
  readonly succeeded: number;
  readonly failed: number;
  readonly retried: number;
  readonly p50: number | null;
  readonly p95: number | null;
  readonly p99: number | null;
}

export interface TaskMonitor {
  listTasks(query: TaskQuery): Promise<TaskPage>;
  getTask(id: string): Promise<TaskRecord | undefined>;
  revoke(id: string): Promise<TaskRecord>;
  retry(id: string): Promise<TaskRecord>;
  listWorkers(): Promise<readonly WorkerInfo[]>;
  queueCounts(): Promise<Readonly<Record<string, QueueCounts>>>;
  history(opts: { since: Date }): Promise<readonly MinuteStats[]>;
  /** Live state changes; returns the unsubscribe function. */
  subscribe(listener: (event: TaskEvent) => void): () => void;
}
