/**
 * The task client on BullMQ: enqueue (Celery's `.delay()`), look up (`AsyncResult`),
 * list, revoke, retry, counts and live events. State is read from BullMQ's own job
 * record (see state.ts), so it survives restarts of every process.
 */
import { randomUUID } from 'node:crypto';
import type { Job } from 'bullmq';
import type { Config } from '../config/index.ts';
import type { Database } from '../db/client.ts';
import type { TaskBackend, TaskJobData, TaskQueueEvents } from './backend.ts';
import { QueueFullError, TaskFinishedError, UnknownTaskError } from './errors.ts';
import { jobOptions } from './job-options.ts';
import type { TaskRegistry } from './registry.ts';
import { toRecord, type BullState } from './state.ts';
import { listWorkers, minuteHistory, recordRevocation } from './store.ts';
import type { TaskClient } from './task-client.ts';
import { finishedStates, type EnqueueOptions, type ListTasksQuery, type QueueCounts, type TaskEvent, type TaskPage, type TaskRecord } from './types.ts';
import { validateArgs } from './validate.ts';
import { listTasks } from './list.ts';

/** How long a queue's waiting count is trusted before it is read again. */
const COUNT_TTL_MS = 250;

export interface BullTaskClientOptions {
  readonly config: Config;
  readonly registry: TaskRegistry;
  readonly backend: TaskBackend;
  readonly database: Database;
  /** Close the backend with the client. Default true. */
  readonly ownsBackend?: boolean;
}

export function bullTaskClient(opts: BullTaskClientOptions): TaskClient {
  const { config, registry, backend, database } = opts;
  const queues = () => registry.queues();
  const waiting = new Map<string, { count: number; at: number; refreshing?: Promise<void> }>();

  async function checkLimit(queue: string): Promise<void> {
    let entry = waiting.get(queue);
    if (!entry || Date.now() - entry.at > COUNT_TTL_MS) {
      const fresh = await backend.queue(queue).getJobCountByTypes('waiting', 'prioritized');
      entry = { count: fresh, at: Date.now() };
      waiting.set(queue, entry);
    }
    if (entry.count >= config.TASK_QUEUE_LIMIT) throw new QueueFullError(queue, config.TASK_QUEUE_LIMIT);
    entry.count++; // counted until the next read, so a burst cannot overshoot
  }

  async function findJob(id: string): Promise<Job<TaskJobData> | undefined> {
    for (const q of queues()) {
      const job = await backend.queue(q).getJob(id);
      if (job) return job;
    }
    return undefined;
  }

  /** The job and its state are two reads: re-read until they agree (a finish can land between them). */
  async function record(job: Job<TaskJobData>): Promise<TaskRecord> {
    const queue = backend.queue(job.queueName);
    let current = job;
    for (let i = 0; ; i++) {
      const state = (await queue.getJobState(current.id ?? '')) as BullState;
      const finished = state === 'completed' || state === 'failed';
      if (Boolean(current.finishedOn) === finished || i === 3) return toRecord(current, state);
      current = (await queue.getJob(current.id ?? '')) ?? current;
    }
  }

  async function getTask(id: string): Promise<TaskRecord | undefined> {
    const job = await findJob(id);
    return job ? record(job) : undefined;
  }

  // Live events: one QueueEvents per queue, opened on the first subscriber.
  const listeners = new Set<(e: TaskEvent) => void>();
  const watchers = new Map<string, Set<() => void>>();
  let events: TaskQueueEvents[] | undefined;
  const onJob = (jobId: string) => {
    const ws = watchers.get(jobId);
    if (ws) for (const w of ws) w();
    if (listeners.size === 0) return;
    void getTask(jobId).then((t) => {
      if (!t) return;
      const e: TaskEvent = { taskId: t.id, name: t.name, state: t.state, at: new Date(), retries: t.retries, ...(t.result !== undefined ? { result: t.result } : {}), ...(t.error ? { error: t.error } : {}) };
      for (const l of listeners) l(e);
    }, () => undefined);
  };
  const ensureEvents = () => {
    if (events) return;
    events = queues().map((q) => {
      const qe = backend.queueEvents(q);
      qe.on('error', () => undefined);
      for (const type of ['waiting', 'active', 'completed', 'failed', 'delayed'] as const) {
        qe.on(type, (args: { jobId: string }) => onJob(args.jobId));
      }
      return qe;
    });
  };

  return {
    registry,
    async enqueue(name, args, options: EnqueueOptions = {}) {
      const task = registry.get(name);
      if (!task) throw new UnknownTaskError(name);
      validateArgs(task, args);
      const queue = task.options.queue ?? 'default';
      await checkLimit(queue);
      const taskId = options.taskId ?? randomUUID();
      const data: TaskJobData = {
        args,
        ...(options.createdBy != null ? { by: options.createdBy } : {}),
        ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
      };
      await backend.queue(queue).add(name, data, jobOptions(task, config, { ...options, taskId }));
      if (!options.delayMs) backend.nudge(queue);
      return { id: taskId, state: 'PENDING' };
    },
    async delay(task, args, options) {
      return this.enqueue(task.name, args, options);
    },
    getTask,
    listTasks: (q: ListTasksQuery = {}): Promise<TaskPage> => listTasks({ backend, queues: queues() }, q),
    async revoke(id) {
      const job = await findJob(id);
      if (!job) return undefined;
      const current = await record(job);
      // REVOKED is final like SUCCESS and FAILURE: revoking again is a 409, as the contract says.
      if (finishedStates.has(current.state)) throw new TaskFinishedError(current.state);
      await job.updateData({ ...job.data, revoked: true });
      await recordRevocation(database.db, id);
      // A delayed task would otherwise sit until its time; let a worker discard it now.
      if ((await job.getState()) === 'delayed') await job.promote().catch(() => undefined);
      return { ...current, state: 'REVOKED' };
    },
    async retry(id) {
      const job = await findJob(id);
      if (!job) return undefined;
      const state = (await job.getState()) as BullState;
      if (state !== 'failed' && state !== 'completed') throw new TaskFinishedError(toRecord(job, state).state);
      if (job.data.revoked) await job.updateData({ ...job.data, revoked: false });
      await job.retry(state);
      return record(job);
    },
    async queueCounts(): Promise<QueueCounts[]> {
      return Promise.all(
        queues().map(async (queue) => {
          const q = backend.queue(queue);
          const c = await q.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed');
          return {
            queue,
            waiting: c.waiting ?? 0,
            active: c.active ?? 0,
            delayed: c.delayed ?? 0,
            prioritized: c.prioritized ?? 0,
            completed: c.completed ?? 0,
            failed: c.failed ?? 0,
            paused: await q.isPaused(),
          };
        }),
      );
    },
    listWorkers: () => listWorkers(database.db),
    history: (minutes) => minuteHistory(database.db, minutes),
    subscribe(listener) {
      ensureEvents();
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    watch(id, onChange) {
      ensureEvents();
      let set = watchers.get(id);
      if (!set) watchers.set(id, (set = new Set()));
      set.add(onChange);
      return () => {
        set.delete(onChange);
        if (set.size === 0) watchers.delete(id);
      };
    },
    readiness: { name: 'broker', check: () => backend.ping() },
    async close() {
      await Promise.allSettled((events ?? []).map((e) => e.close()));
      events = undefined;
      if (opts.ownsBackend ?? true) await backend.close();
    },
  };
}
