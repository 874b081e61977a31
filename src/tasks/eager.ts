/**
 * Eager mode (Celery `task_always_eager`, Huey `immediate`): `enqueue` runs the handler
 * inline, with the same validation, retries and time limit, and keeps the record in
 * memory — for users' unit tests, no broker needed.
 */
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import type { Config } from '../config/index.ts';
import { NonRetryableError, TaskRevokedError } from './define.ts';
import { TaskFinishedError, UnknownTaskError } from './errors.ts';
import { runHandler } from './execute.ts';
import type { TaskRegistry } from './registry.ts';
import type { TaskClient } from './task-client.ts';
import { finishedStates, type EnqueueOptions, type TaskEvent, type TaskRecord } from './types.ts';
import { validateArgs } from './validate.ts';

export function eagerTaskClient(opts: { registry: TaskRegistry; config?: Pick<Config, 'WORKER_CONCURRENCY'> }): TaskClient {
  const { registry } = opts;
  const records = new Map<string, TaskRecord>();
  const listeners = new Set<(e: TaskEvent) => void>();
  const log = pino({ level: 'silent' });
  const save = (t: TaskRecord) => {
    records.set(t.id, t);
    const e: TaskEvent = { taskId: t.id, name: t.name, state: t.state, at: new Date(), retries: t.retries, ...(t.result !== undefined ? { result: t.result } : {}), ...(t.error ? { error: t.error } : {}) };
    for (const l of listeners) l(e);
  };

  async function enqueue(name: string, args: unknown, o: EnqueueOptions = {}) {
    const task = registry.get(name);
    if (!task) throw new UnknownTaskError(name);
    validateArgs(task, args);
    const id = o.taskId ?? randomUUID();
    const base = { id, name, queue: task.options.queue ?? 'default', args, createdBy: o.createdBy ?? null, createdAt: new Date(), retries: 0 };
    const retries = o.retries ?? task.options.retries ?? 0;
    for (let attempt = 1; ; attempt++) {
      const startedAt = new Date();
      save({ ...base, state: 'STARTED', startedAt, retries: attempt - 1 });
      try {
        const result = await runHandler({
          task, taskId: id, args, attempt, timeoutMs: o.timeoutMs ?? task.options.timeoutMs, log: () => log, controller: new AbortController(), progress: async () => undefined,
        });
        const finishedAt = new Date();
        save({ ...base, state: 'SUCCESS', result: task.options.storeResult === false ? null : (result ?? null), retries: attempt - 1, startedAt, finishedAt, runtimeMs: finishedAt.getTime() - startedAt.getTime() });
        break;
      } catch (err) {
        const finishedAt = new Date();
        const e = err instanceof Error ? err : new Error(String(err));
        const final = attempt > retries || err instanceof NonRetryableError || err instanceof TaskRevokedError || e.name === 'UnrecoverableError';
        save({ ...base, state: final ? 'FAILURE' : 'RETRY', error: e.message, ...(e.stack ? { traceback: e.stack } : {}), retries: attempt - 1, startedAt, finishedAt: final ? finishedAt : null, runtimeMs: finishedAt.getTime() - startedAt.getTime() });
        if (final) break;
      }
    }
    return { id, state: 'PENDING' as const };
  }

  return {
    registry,
    enqueue,
    delay: (task, args, o) => enqueue(task.name, args, o),
    getTask: async (id) => records.get(id),
    async listTasks(q = {}) {
      const data = [...records.values()]
        .filter((t) => (!q.state || t.state === q.state) && (!q.name || t.name === q.name))
        .reverse()
        .slice(0, q.limit ?? 100);
      return { data, next: null };
    },
    async revoke(id) {
      const t = records.get(id);
      if (!t) return undefined;
      if (finishedStates.has(t.state)) throw new TaskFinishedError(t.state);
      return t;
    },
    retry: async (id) => {
      const t = records.get(id);
      if (!t) return undefined;
      await enqueue(t.name, t.args, { taskId: id, createdBy: t.createdBy ?? null });
      return records.get(id);
    },
    queueCounts: async () => [],
    listWorkers: async () => [],
    unservedQueues: async () => [], // eager tasks run inline: no queue waits
    history: async () => [],
    counters: async () => [],
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    watch: () => () => undefined,
    readiness: [],
    close: async () => undefined,
  };
}
