/**
 * Background tasks — the engine's API for the task HTTP module, the dashboard and code.
 *
 * ```ts
 * const tasks = await createTaskClient({ config, data, registry });   // BullMQ: Redis or PostgreSQL
 * const tasks = await createTaskClient({ config, registry, eager: true }); // inline, for unit tests
 * const { id } = await tasks.enqueue('fetch_data', { url });        // or tasks.delay(fetchData, { url })
 * ```
 *
 * | call | returns |
 * |---|---|
 * | `enqueue(name, args, opts?)` / `delay(task, args, opts?)` | `{ id, state: 'PENDING' }`; throws UnknownTaskError, InvalidArgsError, QueueFullError; `opts.tx` enqueues inside a transaction |
 * | `getTask(id)` | `TaskRecord` (state, result, error, traceback, retries, request id, times, runtime) or undefined |
 * | `listTasks({ state?, name?, q?, search?, createdBy?, createdFrom?, createdTo?, limit?, after? })` | `{ data: TaskRecord[], next }`, newest first, a keyset cursor over the whole retained history |
 * | `revoke(id)` | the record in state REVOKED; throws TaskFinishedError (→ 409) |
 * | `retry(id)` | runs a finished task again under the same id |
 * | `queueCounts()` | `QueueCounts[]`: what the broker holds per queue (waiting, active, delayed, prioritized) |
 * | `listWorkers()` / `unservedQueues()` | heartbeats (app.task_workers); queues no online worker consumes |
 * | `history(minutes = 60)` | `TaskStatsMinute[]`: succeeded/failed/retried and runtime p50/p95/p99 per minute |
 * | `subscribe(listener)` / `watch(id, onChange)` | committed state changes (LISTEN/NOTIFY); returns unsubscribe |
 * | `readiness` | `/readyz` probes: `broker`, and `workers` (a warning) |
 *
 * Where state lives: in Conveyor's task table (app.tasks, table.ts), written by the client at
 * enqueue and by workers at each transition. BullMQ only delivers, retries and schedules.
 */
import type { Config } from '../config/index.ts';
import type { DataRuntime } from '../db/runtime.ts';
import { openTaskBackend, type TaskBackend } from './backend.ts';
import { bullTaskClient } from './client.ts';
import { eagerTaskClient } from './eager.ts';
import type { TaskRegistry } from './registry.ts';
import type { TaskClient } from './task-client.ts';

export type { TaskClient, Enqueued } from './task-client.ts';
export { defineTask, NonRetryableError, type AnyTask, type TaskContext, type TaskDefinition, type TaskOptions } from './define.ts';
export { TaskRegistry, loadTaskModules } from './registry.ts';
export { InvalidArgsError, QueueFullError, TaskFinishedError, UnknownTaskError } from './errors.ts';
export { decodeCursor } from './records.ts';
export { InvalidCanvasError, MAX_WORKFLOW_DEPTH, MAX_WORKFLOW_TASKS, type CanvasNode, type SignatureOptions } from './canvas.ts';
export { chain, chord, group, type Canvas, type ResultOf } from './signature.ts';
export * from './types.ts';

export type CreateTaskClientOptions =
  | { readonly eager: true; readonly config: Config; readonly registry: TaskRegistry }
  | {
      readonly eager?: false;
      readonly config: Config;
      readonly data: DataRuntime;
      readonly registry: TaskRegistry;
      /** Share an open backend (e.g. the in-process worker's); it is then not closed with the client. */
      readonly backend?: TaskBackend;
    };

export async function createTaskClient(opts: CreateTaskClientOptions): Promise<TaskClient> {
  if (opts.eager) return eagerTaskClient({ registry: opts.registry });
  const backend = opts.backend ?? (await openTaskBackend(opts.config, { databaseUrl: opts.data.url, poolSize: 10 }));
  return bullTaskClient({ config: opts.config, registry: opts.registry, backend, database: opts.data.database, ownsBackend: !opts.backend });
}
