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
import { finishedStates, type EnqueueOptions, type ListTasksQuery, type QueueCounts, type TaskEvent, type TaskPage, type TaskRecord, type TaskState } from './types.ts';
import { validateArgs } from './validate.ts';
import { listTasks } from './list.ts';
import { describeUnserved, unservedQueues } from './coverage.ts';

/** Tasks whose name this client remembers for its live events (oldest forgotten first). */
const KNOWN_MAX = 10_000;

const QUEUE_EVENT_TYPES = ['waiting', 'active', 'completed', 'failed', 'delayed'] as const;
type QueueEventType = (typeof QUEUE_EVENT_TYPES)[number];
/** What BullMQ's QueueEvents hand a listener (the fields used here). */
interface QueueEventArgs {
  readonly jobId: string;
  readonly prev?: string;
  readonly returnvalue?: unknown;
}

/**
 * The state an event alone proves, or undefined when the job must be read: a `waiting` after
 * a failure may be a RETRY, a `failed` may be REVOKED or a RETRY, `delayed` may be either.
 */
function stateOf(type: QueueEventType, args: QueueEventArgs): TaskState | undefined {
  if (type === 'active') return 'STARTED';
  if (type === 'completed') return 'SUCCESS';
  if (type === 'waiting' && args.prev === undefined) return 'PENDING';
  return undefined;
}

/** A `completed` event's return value: JSON text on both backends. */
function parseResult(value: unknown): unknown {
  if (typeof value !== 'string') return value ?? null;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return value;
  }
}

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
  // Most events need no read of the job: the task's name is known from the enqueue (or an
  // earlier read) and `active` / `completed` / a first `waiting` say the state outright.
  // Reading every job on each of its events (3+ per task, in every serve process, for the
  // metrics) cost about as much CPU as handling the POST that enqueued it.
  const known = new Map<string, { name: string; retries: number }>();
  const remember = (id: string, name: string, retries: number) => {
    known.delete(id);
    known.set(id, { name, retries });
    if (known.size > KNOWN_MAX) known.delete(known.keys().next().value!);
  };
  const emit = (e: TaskEvent) => {
    for (const l of listeners) l(e);
  };
  /** The event an arrival alone proves, without a read (or undefined). */
  const provenEvent = (type: QueueEventType, args: QueueEventArgs): TaskEvent | undefined => {
    const k = known.get(args.jobId);
    const state = k ? stateOf(type, args) : undefined;
    if (!k || !state) return undefined;
    if (state === 'SUCCESS') known.delete(args.jobId);
    return { taskId: args.jobId, name: k.name, state, at: new Date(), retries: k.retries, ...(state === 'SUCCESS' ? { result: parseResult(args.returnvalue) } : {}) };
  };
  const readEvent = async (jobId: string): Promise<TaskEvent | undefined> => {
    const t = await getTask(jobId);
    if (!t) return undefined;
    if (finishedStates.has(t.state)) known.delete(t.id);
    else remember(t.id, t.name, t.retries);
    return { taskId: t.id, name: t.name, state: t.state, at: new Date(), retries: t.retries, ...(t.result !== undefined ? { result: t.result } : {}), ...(t.error ? { error: t.error } : {}) };
  };
  // A job's events are emitted in the order they arrived: while a read for one of them is in
  // flight, later ones queue behind it (a slow read must not land after a newer state).
  const inFlight = new Map<string, Promise<void>>();
  const onJob = (type: QueueEventType, args: QueueEventArgs) => {
    const { jobId } = args;
    const ws = watchers.get(jobId);
    if (ws) for (const w of ws) w();
    if (listeners.size === 0) return;
    const before = inFlight.get(jobId);
    if (!before) {
      const proven = provenEvent(type, args);
      if (proven) return emit(proven);
    }
    const next: Promise<void> = (before ?? Promise.resolve())
      .then(async () => {
        const e = provenEvent(type, args) ?? (await readEvent(jobId));
        if (e) emit(e);
      })
      .catch(() => undefined)
      .finally(() => {
        if (inFlight.get(jobId) === next) inFlight.delete(jobId);
      });
    inFlight.set(jobId, next);
  };
  const ensureEvents = () => {
    if (events) return;
    events = queues().map((q) => {
      const qe = backend.queueEvents(q);
      qe.on('error', () => undefined);
      for (const type of QUEUE_EVENT_TYPES) qe.on(type, (args: QueueEventArgs) => onJob(type, args));
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
      // Known before the add: its first events can arrive before add() returns.
      if (listeners.size > 0) remember(taskId, name, 0);
      try {
        await backend.queue(queue).add(name, data, jobOptions(task, config, { ...options, taskId }));
      } catch (err) {
        known.delete(taskId);
        throw err;
      }
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
      known.delete(id); // its next events are read, so they say REVOKED
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
    unservedQueues: async () => unservedQueues(queues(), await listWorkers(database.db)),
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
    readiness: [
      { name: 'broker', check: () => backend.ping() },
      {
        name: 'workers',
        check: async () => {
          const unserved = unservedQueues(queues(), await listWorkers(database.db));
          return unserved.length ? describeUnserved(unserved) : undefined;
        },
      },
    ],
    async close() {
      await Promise.allSettled((events ?? []).map((e) => e.close()));
      events = undefined;
      if (opts.ownsBackend ?? true) await backend.close();
    },
  };
}
