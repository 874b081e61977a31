/**
 * Background tasks — the service API (for the task HTTP module, the dashboard and code).
 *
 * ```ts
 * const tasks = await createTaskClient({ config, data });          // BullMQ: Redis or PostgreSQL
 * const tasks = await createTaskClient({ config, eager: true });    // inline, for unit tests
 * const { id } = await tasks.enqueue('fetch_data', { url });        // or tasks.delay(fetchData, { url })
 * ```
 *
 * | call | returns |
 * |---|---|
 * | `enqueue(name, args, opts?)` / `delay(task, args, opts?)` | `{ id, state: 'PENDING' }`; throws UnknownTaskError, InvalidArgsError, QueueFullError |
 * | `getTask(id)` | `TaskRecord` (state, result, error, traceback, retries, createdAt/startedAt/finishedAt, runtimeMs) or undefined |
 * | `listTasks({ state?, name?, search?, limit?, after? })` | `{ data: TaskRecord[], next }`, newest first; `search` matches id, name and args JSON |
 * | `revoke(id)` | the record in state REVOKED; throws TaskFinishedError (→ 409) |
 * | `retry(id)` | runs a finished task again under the same id |
 * | `queueCounts()` | `QueueCounts[]`: waiting/active/delayed/prioritized/completed/failed per queue |
 * | `listWorkers()` | `WorkerInfo[]` from heartbeats (app.task_workers); `online` = seen in the last 6 s |
 * | `history(minutes = 60)` | `TaskStatsMinute[]`: succeeded/failed/retried and runtime p50/p95/p99 per minute (app.task_stats_minute) |
 * | `subscribe(listener)` | every state change as a `TaskEvent`; returns unsubscribe |
 * | `watch(id, onChange)` | a nudge whenever task `id` may have changed (SSE); returns unsubscribe |
 * | `readiness` | `{ name: 'broker', check }` for buildApp's `readiness` |
 *
 * Where state lives: in BullMQ's job record (Redis hash or the `bullmq.job` row): args,
 * result, error, attempts and timestamps; Celery's state is derived from it (state.ts).
 * Workers write heartbeats and the per-minute history to PostgreSQL in batches.
 */
import type { Config } from '../config/index.ts';
import type { DataRuntime } from '../db/runtime.ts';
import { openTaskBackend, type TaskBackend } from './backend.ts';
import { builtinTasks } from './builtins.ts';
import { bullTaskClient } from './client.ts';
import { eagerTaskClient } from './eager.ts';
import { loadTaskModules, TaskRegistry } from './registry.ts';
import type { TaskClient } from './task-client.ts';

export type { TaskClient, Enqueued } from './task-client.ts';
export { defineTask, NonRetryableError, type TaskContext, type TaskDefinition, type TaskOptions } from './define.ts';
export { TaskRegistry } from './registry.ts';
export { InvalidArgsError, QueueFullError, TaskFinishedError, UnknownTaskError } from './errors.ts';
export * from './types.ts';

/** The built-in tasks plus those of TASK_MODULES (and `extra` modules). */
export async function createRegistry(config: Config, extra: readonly string[] = []): Promise<TaskRegistry> {
  const registry = new TaskRegistry(builtinTasks(config));
  return loadTaskModules(registry, [...config.taskModules, ...extra]);
}

export type CreateTaskClientOptions =
  | { readonly eager: true; readonly config: Config; readonly registry?: TaskRegistry }
  | {
      readonly eager?: false;
      readonly config: Config;
      readonly data: DataRuntime;
      readonly registry?: TaskRegistry;
      /** Share an open backend (e.g. the in-process worker's); it is then not closed with the client. */
      readonly backend?: TaskBackend;
    };

export async function createTaskClient(opts: CreateTaskClientOptions): Promise<TaskClient> {
  const registry = opts.registry ?? (await createRegistry(opts.config));
  if (opts.eager) return eagerTaskClient({ registry });
  const backend = opts.backend ?? (await openTaskBackend(opts.config, { databaseUrl: opts.data.url, poolSize: 10 }));
  return bullTaskClient({ config: opts.config, registry, backend, database: opts.data.database, ownsBackend: !opts.backend });
}
