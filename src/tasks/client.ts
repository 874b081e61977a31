/**
 * The task client: enqueue (Celery's `.delay()`), look up (`AsyncResult`), list, revoke,
 * retry, counts and live events. Every read is of Conveyor's task table (records.ts);
 * BullMQ only receives the jobs.
 *
 * An enqueue hands the job to the broker and writes the task's row at the same time, and
 * answers once both are done. A crash in between loses nothing: a job without a row gets one
 * from its worker (the claim is an upsert), and a row without a job (written as not yet
 * dispatched; the claim marks it) is handed over by the relay's sweep. If one of the two
 * fails, the other is taken back and the call fails (503): not accepted, so not run. One
 * inside a caller's transaction is only written, and the relay hands it over after the commit.
 */
import { randomUUID } from 'node:crypto';
import type { Config } from '../config/index.ts';
import type { Database } from '../db/client.ts';
import { batched, type Batched } from '../lib/batch.ts';
import { createPgListener, type PgListener } from '../lib/pg-listen.ts';
import type { TaskBackend, TaskJobData } from './backend.ts';
import { describeUnserved, unservedQueues } from './coverage.ts';
import type { AnyTask } from './define.ts';
import { celeryTargetOf, type CeleryTarget } from './celery/define.ts';
import { outboundMessage, type OutboundSource } from './celery/outbound.ts';
import type { CeleryPublisher } from './celery/publish.ts';
import { isCeleryOrigin } from './celery/results.ts';
import { InvalidCanvasError } from './canvas.ts';
import { BrokerUnavailableError, CeleryNotConfiguredError, QueueFullError, TaskFinishedError, UnknownTaskError } from './errors.ts';
import { extraJobData, jobOptions, storedOptions } from './job-options.ts';
import {
  decodeCursor,
  findTask,
  findWorkflow,
  forgetTask,
  insertWorkflow,
  lockUniqueTwin,
  type Executor,
  revokeWorkflowTasks,
  insertTasksInTransaction,
  listTaskRows,
  markDispatched,
  resetTask,
  revokeTask,
  TASK_CHANNEL,
  toRecord,
  type NewTask,
} from './records.ts';
import type { TaskRegistry } from './registry.ts';
import { counterTotals, listWorkers, minuteHistory } from './store.ts';
import type { TaskClient } from './task-client.ts';
import { finishedStates, taskStates, type EnqueueOptions, type ListTasksQuery, type QueueCounts, type TaskEvent, type TaskPage, type TaskState } from './types.ts';
import { validateArgs } from './validate.ts';
import { planRows, toWorkflowRecord } from './workflows.ts';
import { taskWriter } from './writer.ts';
import type { JobsOptions } from 'bullmq';

/** How long a queue's waiting count is trusted before it is read again. */
const COUNT_TTL_MS = 250;

export interface BullTaskClientOptions {
  readonly config: Config;
  readonly registry: TaskRegistry;
  readonly backend: TaskBackend;
  readonly database: Database;
  /** Close the backend with the client. Default true. */
  readonly ownsBackend?: boolean;
  /** Celery interoperability: sends `defineCeleryTask` tasks to Python workers. Unset = such tasks are refused. */
  readonly celery?: CeleryPublisher;
}

type Job = { name: string; data: TaskJobData; opts: JobsOptions };

/** A notification's rows: [id, state, name, retries]. */
function parseChanges(payload: string): TaskEvent[] {
  let rows: unknown;
  try {
    rows = JSON.parse(payload);
  } catch {
    return [];
  }
  if (!Array.isArray(rows)) return [];
  const at = new Date();
  const events: TaskEvent[] = [];
  for (const r of rows) {
    if (!Array.isArray(r) || typeof r[0] !== 'string' || !taskStates.includes(r[1] as TaskState)) continue;
    events.push({ taskId: r[0], state: r[1] as TaskState, name: String(r[2]), retries: Number(r[3]) || 0, at });
  }
  return events;
}

export function bullTaskClient(opts: BullTaskClientOptions): TaskClient {
  const { config, registry, backend, database, celery } = opts;
  const queues = () => registry.queues();
  const writer = taskWriter(database.pool);
  const waiting = new Map<string, { count: number; at: number }>();

  async function checkLimit(queue: string): Promise<void> {
    let entry = waiting.get(queue);
    if (!entry || Date.now() - entry.at > COUNT_TTL_MS) {
      const c = await backend.queue(queue).getJobCounts('waiting', 'prioritized');
      entry = { count: (c.waiting ?? 0) + (c.prioritized ?? 0), at: Date.now() };
      waiting.set(queue, entry);
    }
    if (entry.count >= config.TASK_QUEUE_LIMIT) throw new QueueFullError(queue, config.TASK_QUEUE_LIMIT);
    entry.count++; // counted until the next read, so a burst cannot overshoot
  }

  // One addBulk per queue for the jobs of concurrent enqueues.
  const adders = new Map<string, Batched<Job, void>>();
  const add = (queue: string, job: Job) => {
    let a = adders.get(queue);
    if (!a) {
      a = batched<Job, void>(async (jobs) => {
        await backend.queue(queue).addBulk(jobs);
        return jobs.map(() => undefined);
      }, { maxItems: 200, concurrency: 2 });
      adders.set(queue, a);
    }
    return a(job);
  };

  function prepare(task: AnyTask, args: unknown, options: EnqueueOptions, id: string): { row: NewTask; job: Job } {
    const queue = task.options.queue ?? 'default';
    const stored = storedOptions(options);
    const row: NewTask = {
      id,
      name: task.name,
      queue,
      args,
      createdBy: options.createdBy ?? null,
      requestId: options.requestId ?? null,
      traceId: options.traceId ?? null,
      runAt: options.delayMs ? new Date(Date.now() + options.delayMs) : null,
      options: stored,
      // Marked by the worker's claim; one never claimed is the relay's sweep's to hand over.
      dispatched: false,
    };
    const data: TaskJobData = {
      args,
      ...(options.createdBy != null ? { by: options.createdBy } : {}),
      ...(options.requestId ? { req: options.requestId } : {}),
      ...(options.traceId ? { tr: options.traceId } : {}),
      ...extraJobData(stored),
    };
    return { row, job: { name: task.name, data, opts: jobOptions(task, { ...options, taskId: id }) } };
  }

  /**
   * A task Python workers run: the row first (PENDING, not yet handed over), then the Celery
   * message, then the mark. If the message cannot be sent the row is taken back and the call
   * fails (503); a crash between send and mark has the relay's sweep send it again.
   */
  async function enqueueCelery(task: AnyTask, target: CeleryTarget, args: unknown, options: EnqueueOptions, id: string) {
    if (!celery) throw new CeleryNotConfiguredError(task.name);
    const { row: native } = prepare(task, args, options, id);
    const row: NewTask = { ...native, queue: target.queue, celerySource: 'outbound' };
    if (options.uniqueKey !== undefined) {
      const key = options.uniqueKey;
      const once = async (tx: Executor) => {
        const twin = await lockUniqueTwin(tx, task.name, key, options.uniqueForMs ?? 0);
        if (twin) return twin;
        await insertTasksInTransaction(tx, [{ ...row, uniqueKey: key }]);
        return undefined;
      };
      const twin = options.tx ? await once(options.tx) : await database.db.transaction(once);
      if (twin) return { id: twin.id, state: twin.state, deduplicated: true as const };
      if (!options.tx) await sendCelery(task, target, row).catch(() => undefined); // committed: the relay sends what did not go now
      return { id, state: 'PENDING' as const };
    }
    if (options.tx) {
      await insertTasksInTransaction(options.tx, [row]);
      return { id, state: 'PENDING' as const };
    }
    await writer.insert(row);
    try {
      await sendCelery(task, target, row);
    } catch (err) {
      await forgetTask(database.pool, id).catch(() => undefined);
      throw new BrokerUnavailableError({ cause: err });
    }
    return { id, state: 'PENDING' as const };
  }

  async function sendCelery(task: AnyTask, target: CeleryTarget, row: OutboundSource): Promise<void> {
    await celery!.send([outboundMessage(task, target, row)]);
    await markDispatched(database.pool, [row.id]);
  }

  // Live events: one LISTEN connection, opened on the first subscriber.
  const listeners = new Set<(e: TaskEvent) => void>();
  const watchers = new Map<string, Set<() => void>>();
  let listener: PgListener | undefined;
  const ensureListening = () => {
    if (listener) return;
    listener = createPgListener({ url: database.url, applicationName: 'conveyor-events', onError: () => undefined });
    listener.on(TASK_CHANNEL, (payload) => {
      for (const e of parseChanges(payload)) {
        for (const w of watchers.get(e.taskId) ?? []) w();
        for (const l of listeners) l(e);
      }
    });
    // Notifications sent while the connection was down are gone: let every watcher re-read.
    listener.onReconnect(() => {
      for (const set of watchers.values()) for (const w of set) w();
    });
  };

  return {
    registry,
    async enqueue(name, args, options: EnqueueOptions = {}) {
      const task = registry.get(name);
      if (!task) throw new UnknownTaskError(name);
      validateArgs(task, args);
      const id = options.taskId ?? randomUUID();
      const target = celeryTargetOf(task);
      if (target) return enqueueCelery(task, target, args, options, id);
      const { row, job } = prepare(task, args, options, id);
      if (options.uniqueKey !== undefined) {
        // Checked and written under a lock on the name and key, in one transaction (the
        // caller's, if any): of concurrent enqueues of one key, one makes the task.
        const key = options.uniqueKey;
        if (!options.tx) await checkLimit(row.queue);
        const once = async (tx: Executor) => {
          const twin = await lockUniqueTwin(tx, task.name, key, options.uniqueForMs ?? 0);
          if (twin) return twin;
          await insertTasksInTransaction(tx, [{ ...row, uniqueKey: key }]);
          return undefined;
        };
        const twin = options.tx ? await once(options.tx) : await database.db.transaction(once);
        if (twin) return { id: twin.id, state: twin.state, deduplicated: true };
        // Committed: hand it over now (the relay would, from the commit's notification).
        if (!options.tx) await add(row.queue, job).catch(() => undefined);
        return { id, state: 'PENDING' };
      }
      if (options.tx) {
        await insertTasksInTransaction(options.tx, [row]);
        return { id, state: 'PENDING' };
      }
      await checkLimit(row.queue);
      const [added, written] = await Promise.allSettled([add(row.queue, job), writer.insert(row)]);
      if (added.status === 'rejected' || written.status === 'rejected') {
        // Not accepted: take back whichever half went through.
        if (added.status === 'fulfilled') await backend.queue(row.queue).remove(id).catch(() => undefined);
        if (written.status === 'fulfilled') await forgetTask(database.pool, id).catch(() => undefined);
        throw added.status === 'rejected' ? added.reason : (written as PromiseRejectedResult).reason;
      }
      return { id, state: 'PENDING' };
    },
    async delay(task, args, options) {
      return this.enqueue(task.name, args, options);
    },
    async workflow(canvas, wopts = {}) {
      const id = randomUUID();
      const { rows, output, canvas: annotated } = planRows(registry, canvas, id, wopts);
      const remote = rows.find((r) => celeryTargetOf(registry.get(r.name)));
      if (remote) throw new InvalidCanvasError([{ field: 'body', message: `${remote.name} runs on Celery workers: workflows take Conveyor's own tasks only` }]);
      const wf = { id, canvas: annotated, output, createdBy: wopts.createdBy ?? null, requestId: wopts.requestId ?? null };
      if (wopts.tx) {
        await insertWorkflow(wopts.tx, wf, rows);
        return { id, tasks: rows.map((r) => r.id) };
      }
      await database.db.transaction((tx) => insertWorkflow(tx, wf, rows));
      // The first steps go to the broker at once; the relay would, a moment later, from the commit's notification.
      const roots = rows.filter((r) => !r.deps?.length);
      await Promise.all(
        roots.map((r) => {
          const task = registry.get(r.name)!;
          const { expiresAt: _e, ...kept } = r.options;
          const { job } = prepare(task, r.args, { ...kept, ...(r.runAt ? { delayMs: Math.max(1, r.runAt.getTime() - Date.now()) } : {}) }, r.id);
          return add(r.queue, { ...job, data: { ...job.data, by: r.createdBy, req: r.requestId, wf: id } });
        }),
      ).catch(() => undefined); // committed: the relay hands over what did not go now
      return { id, tasks: rows.map((r) => r.id) };
    },
    async getWorkflow(id) {
      const found = await findWorkflow(database.db, id);
      return found ? toWorkflowRecord(found.workflow, found.tasks) : undefined;
    },
    async revokeWorkflow(id) {
      const found = await findWorkflow(database.db, id);
      if (!found) return undefined;
      const current = toWorkflowRecord(found.workflow, found.tasks);
      if (current.finishedAt || current.state === 'REVOKED') throw new TaskFinishedError(current.state);
      const cancelled = await revokeWorkflowTasks(database.pool, id);
      await Promise.all(cancelled.map((c) => backend.queue(c.queue).remove(c.id).catch(() => undefined)));
      const now = await findWorkflow(database.db, id);
      return now ? toWorkflowRecord(now.workflow, now.tasks) : current;
    },
    async getTask(id) {
      const row = await findTask(database.db, id);
      return row ? toRecord(row) : undefined;
    },
    async listTasks(q: ListTasksQuery = {}): Promise<TaskPage> {
      const beforeSeq = q.after ? decodeCursor(q.after) : undefined;
      const { rows, next } = await listTaskRows(database.db, {
        limit: q.limit ?? 100,
        ...(q.state ? { state: q.state } : {}),
        ...(q.name ? { name: q.name } : {}),
        ...(q.q ? { q: q.q } : {}),
        ...(q.search ? { search: q.search } : {}),
        ...(q.createdBy !== undefined ? { createdBy: q.createdBy } : {}),
        ...(q.createdFrom ? { createdFrom: q.createdFrom } : {}),
        ...(q.createdTo ? { createdTo: q.createdTo } : {}),
        ...(beforeSeq !== undefined ? { beforeSeq } : {}),
      });
      return { data: rows.map(toRecord), next };
    },
    async revoke(id) {
      const row = await findTask(database.db, id);
      if (!row) return undefined;
      // REVOKED is final like SUCCESS and FAILURE: revoking again is a 409, as the contract says.
      if (finishedStates.has(row.state)) throw new TaskFinishedError(row.state);
      const task = registry.get(row.name);
      const outbound = row.celerySource !== null;
      if (outbound && !celery) throw new CeleryNotConfiguredError(row.name);
      // A Celery task: out of its queue if it still waits there, and every Celery worker told,
      // before the record says so (if Redis cannot be reached, nothing changed: 503).
      if (outbound) await celery!.revoke(id, row.queue).catch((err: unknown) => Promise.reject(new BrokerUnavailableError({ cause: err })));
      // A Celery message this side took: its Python caller reads REVOKED from the result backend.
      const origin = row.options.origin;
      if (!outbound && celery && isCeleryOrigin(origin) && !origin.ignoreResult) {
        await celery.markRevoked(origin.id).catch((err: unknown) => Promise.reject(new BrokerUnavailableError({ cause: err })));
      }
      const { revoked, cancelled } = await revokeTask(database.pool, id, task?.options.resultTtl ?? config.TASK_RESULT_TTL);
      if (!revoked) {
        const now = await findTask(database.db, id);
        throw new TaskFinishedError(now?.state ?? row.state);
      }
      if (outbound) return toRecord((await findTask(database.db, id)) ?? row);
      // A waiting or delayed job leaves the broker now; a running one is stopped by its
      // worker, which sees the row; one that cannot be removed is refused at its claim.
      // Workflow steps downstream of it were revoked with it.
      await Promise.all([{ id, queue: row.queue }, ...cancelled].map((c) => backend.queue(c.queue).remove(c.id).catch(() => undefined)));
      return toRecord((await findTask(database.db, id)) ?? row);
    },
    async retry(id) {
      const row = await findTask(database.db, id);
      if (!row) return undefined;
      if (!finishedStates.has(row.state)) throw new TaskFinishedError(row.state);
      const task = registry.get(row.name);
      if (!task) throw new UnknownTaskError(row.name);
      const target = celeryTargetOf(task);
      if (target && !celery) throw new CeleryNotConfiguredError(row.name);
      if (!(await resetTask(database.pool, id))) throw new TaskFinishedError(row.state);
      if (target) {
        // The first run's outcome must not be read back as the new run's.
        await celery!.forget(id);
        await sendCelery(task, target, { id, args: row.args, options: row.options, runAt: null });
        const now = await findTask(database.db, id);
        return now ? toRecord(now) : undefined;
      }
      const { expiresAt: _e, ...kept } = row.options; // a retry from the dashboard is a new start: no expiry
      const { job } = prepare(task, row.args, { createdBy: row.createdBy, ...(row.requestId ? { requestId: row.requestId } : {}), ...kept }, id);
      await add(row.queue, job);
      await markDispatched(database.pool, [id]);
      const now = await findTask(database.db, id);
      return now ? toRecord(now) : undefined;
    },
    async queueCounts(): Promise<QueueCounts[]> {
      return Promise.all(
        queues().map(async (queue) => {
          const q = backend.queue(queue);
          const c = await q.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
          return { queue, waiting: c.waiting ?? 0, active: c.active ?? 0, delayed: c.delayed ?? 0, prioritized: c.prioritized ?? 0, paused: await q.isPaused() };
        }),
      );
    },
    listWorkers: () => listWorkers(database.db),
    unservedQueues: async () => unservedQueues(queues(), await listWorkers(database.db)),
    history: (minutes) => minuteHistory(database.db, minutes),
    counters: () => counterTotals(database.db),
    subscribe(l) {
      ensureListening();
      listeners.add(l);
      return () => listeners.delete(l);
    },
    watch(id, onChange) {
      ensureListening();
      let set = watchers.get(id);
      if (!set) watchers.set(id, (set = new Set()));
      set.add(onChange);
      return () => {
        set.delete(onChange);
        if (set.size === 0) watchers.delete(id);
      };
    },
    readiness: [
      { name: 'broker', check: () => backend.ping() },
      ...(celery ? [{ name: 'celery', check: () => celery.ping() }] : []),
      {
        name: 'workers',
        check: async () => {
          const unserved = unservedQueues(queues(), await listWorkers(database.db));
          return unserved.length ? describeUnserved(unserved) : undefined;
        },
      },
    ],
    async close() {
      await listener?.close();
      listener = undefined;
      await Promise.all([writer.drain(), ...[...adders.values()].map((a) => a.drain())]);
      if (opts.ownsBackend ?? true) await backend.close();
    },
  };
}
