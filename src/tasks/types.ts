/**
 * The task vocabulary shared by the engine, the task API and the monitor.
 * States carry Celery's meaning; everything else is ours.
 */
export const taskStates = ['PENDING', 'STARTED', 'RETRY', 'SUCCESS', 'FAILURE', 'REVOKED'] as const;
export type TaskState = (typeof taskStates)[number];
export const finishedStates: ReadonlySet<TaskState> = new Set(['SUCCESS', 'FAILURE', 'REVOKED']);

/** One task as the API and the dashboard see it. */
export interface TaskRecord {
  readonly id: string;
  readonly name: string;
  readonly queue: string;
  readonly state: TaskState;
  readonly args: unknown;
  readonly result?: unknown;
  readonly error?: string;
  readonly traceback?: string;
  /** Retries so far (attempts - 1). */
  readonly retries: number;
  readonly createdBy?: number | null;
  readonly createdAt: Date;
  readonly startedAt?: Date | null;
  readonly finishedAt?: Date | null;
  readonly runtimeMs?: number | null;
}

/** A state change, as published to SSE clients and the monitor. */
export interface TaskEvent {
  readonly taskId: string;
  readonly name: string;
  readonly state: TaskState;
  readonly at: Date;
  readonly retries: number;
  readonly result?: unknown;
  readonly error?: string;
}

/** A worker's heartbeat. */
export interface WorkerInfo {
  readonly id: string;
  readonly host: string;
  readonly pid: number;
  readonly queues: readonly string[];
  readonly concurrency: number;
  readonly active: number;
  readonly processed: number;
  readonly failed: number;
  readonly memoryBytes: number;
  readonly startedAt: Date;
  readonly lastSeen: Date;
  readonly online: boolean;
}
