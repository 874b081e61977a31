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
import { resolveSpec, type CanvasNode } from './canvas.ts';
import type { WorkflowRow } from './records.ts';
import type { TaskRow } from './table.ts';
import type { WorkflowOptions } from './types.ts';
import { planRows, toWorkflowRecord } from './workflows.ts';

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

  async function enqueue(name: string, args: unknown, o: EnqueueOptions & { previous?: unknown; workflowId?: string } = {}) {
    const task = registry.get(name);
    if (!task) throw new UnknownTaskError(name);
    validateArgs(task, args);
    const id = o.taskId ?? randomUUID();
    const base = { id, name, queue: task.options.queue ?? 'default', args, createdBy: o.createdBy ?? null, createdAt: new Date(), retries: 0, workflowId: o.workflowId ?? null };
    const retries = o.retries ?? task.options.retries ?? 0;
    for (let attempt = 1; ; attempt++) {
      const startedAt = new Date();
      save({ ...base, state: 'STARTED', startedAt, retries: attempt - 1 });
      try {
        const result = await runHandler({
          task, taskId: id, args, attempt, timeoutMs: o.timeoutMs ?? task.options.timeoutMs, log: () => log, controller: new AbortController(), progress: async () => undefined,
          previous: o.previous, workflowId: o.workflowId,
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

  const flows = new Map<string, { row: WorkflowRow; tasks: string[] }>();
  /** The stored record as the task table's row shape, so the workflow's view is the real engine's. */
  const asRow = (t: TaskRecord): TaskRow => ({
    id: t.id, seq: 0, name: t.name, queue: t.queue, state: t.state, args: t.args, result: t.result ?? null, error: t.error ?? null,
    traceback: t.traceback ?? null, attempts: t.retries + 1, retries: t.retries, options: {}, createdBy: t.createdBy ?? null, requestId: null, traceId: null,
    workerId: null, createdAt: t.createdAt, runAt: null, startedAt: t.startedAt ?? null, finishedAt: t.finishedAt ?? null, expiresAt: null, dispatched: true,
    workflowId: t.workflowId ?? null, deps: null, remaining: 0, previous: null, uniqueKey: null, waiting: null, celerySource: null, celeryWorker: null,
  });

  /** Inline, step after step: each task once every task it waits for succeeded; downstream of a failure is revoked. */
  async function workflow(canvas: CanvasNode, wopts: WorkflowOptions = {}) {
    const workflowId = randomUUID();
    const { rows, output, canvas: annotated } = planRows(registry, canvas, workflowId, wopts);
    flows.set(workflowId, { row: { id: workflowId, canvas: annotated, output, createdBy: wopts.createdBy ?? null, requestId: null, createdAt: new Date(), revokedAt: null }, tasks: rows.map((r) => r.id) });
    const results = new Map<string, unknown>();
    for (const r of rows) {
      const blocked = r.deps?.find((d) => records.get(d)?.state !== 'SUCCESS');
      if (blocked) {
        save({ id: r.id, name: r.name, queue: r.queue, args: r.args, createdBy: r.createdBy, createdAt: new Date(), retries: 0, state: 'REVOKED', error: `upstream task ${records.get(blocked)?.name} (${blocked}) did not succeed`, finishedAt: new Date(), workflowId });
        continue;
      }
      await enqueue(r.name, r.args, { taskId: r.id, workflowId, ...(r.previous ? { previous: resolveSpec(r.previous, results) } : {}) });
      results.set(r.id, records.get(r.id)?.result ?? null);
    }
    return { id: workflowId, tasks: rows.map((r) => r.id) };
  }
  const workflowRecord = (id: string) => {
    const f = flows.get(id);
    return f ? toWorkflowRecord(f.row, f.tasks.map((t) => asRow(records.get(t)!))) : undefined;
  };

  return {
    registry,
    enqueue,
    workflow,
    getWorkflow: async (id) => workflowRecord(id),
    async revokeWorkflow(id) {
      const w = workflowRecord(id);
      if (w) throw new TaskFinishedError(w.state); // eager workflows finish before workflow() returns
      return undefined;
    },
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
