/**
 * The worker runner (`conveyor worker`, or in-process under `conveyor serve`): one BullMQ
 * Worker per queue sharing one processor, which checks each task's row before its handler
 * runs (the gate), writes it STARTED once the run outlasts STARTED_AFTER_MS, and records how
 * it ended, with its attempt and start, before BullMQ hears of it. Around it: a heartbeat
 * every 2 s (with the history and counters), revocation checks of running tasks, retention,
 * the relay of tasks enqueued inside transactions, and the periodic schedules.
 *
 * Delivery is at least once: a task whose worker dies mid-run is found by BullMQ's stalled
 * check (after about TASK_LOCK_MS) and runs again on another worker. A task revoked or
 * finished before a delivery is never run (the row is the gate); one revoked after it is
 * stopped like any running task.
 *
 * This module must never import the HTTP stack (fastify, src/app).
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { DelayedError, UnrecoverableError, WaitingError } from 'bullmq';
import pg from 'pg';
import type { Logger } from 'pino';
import type { Config } from '../config/index.ts';
import type { Database } from '../db/client.ts';
import type { TaskBackend, TaskJob, TaskWorker } from './backend.ts';
import { NonRetryableError, TaskRevokedError, TaskTimeoutError, type AnyTask } from './define.ts';
import { raceAbort, runHandler, type Executor, type RunInput } from './execute.ts';
import { BACKOFF_TYPE, backoffDelay, jobOptions } from './job-options.ts';
import { createSandboxPool } from './pool.ts';
import type { TaskObserver, TaskTransition } from './observer.ts';
import { requeueTask, revokeTask, taskIdOfJob, type Claim, type RunFacts } from './records.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import { CONCURRENCY_RETRY_MS, createLimiter, startTolerance, waitingForConcurrency, waitingForRate } from './limits.ts';
import type { TaskRegistry } from './registry.ts';
import { startRelay } from './relay.ts';
import type { CeleryPublisher } from './celery/publish.ts';
import { startRetention } from './retention.ts';
import { analyzeGrownTables } from './statistics.ts';
import { StatsRecorder } from './stats.ts';
import { pruneStore, upsertHeartbeat } from './store.ts';
import type { WorkerInfo } from './types.ts';
import { taskWriter } from './writer.ts';

export interface TaskWorkerOptions {
  readonly config: Config;
  readonly backend: TaskBackend;
  readonly registry: TaskRegistry;
  readonly database: Database;
  readonly logger: Logger;
  /** Queues to consume. Default: every queue of the registry. */
  readonly queues?: readonly string[];
  /** Tasks run at once per queue. Default WORKER_CONCURRENCY. */
  readonly concurrency?: number;
  /** Heartbeat period in ms. Default 2000. */
  readonly heartbeatMs?: number;
  /** How often finished tasks are trimmed (TASK_RESULT_TTL, TASK_RESULT_MAX), in ms. Default 60 s. */
  readonly trimEveryMs?: number;
  /** How often running tasks are checked for revocation, in ms. Default 250. */
  readonly revokePollMs?: number;
  /** A run is written STARTED once it has gone this long, in ms. Default STARTED_AFTER_MS (50). */
  readonly startedAfterMs?: number;
  /**
   * Where handlers run: `inline` (this event loop), or sandboxed in worker `threads` or
   * child `process`es (CPU-bound tasks). Default `inline`.
   */
  readonly pool?: 'inline' | 'threads' | 'process';
  /** Sandboxed pools: retire a child after this many tasks (Celery's --max-tasks-per-child). */
  readonly maxTasksPerChild?: number;
  /** Sandboxed pools: the module the children load (its default export runs a job). */
  readonly sandboxProcessor?: string;
  /** Sandboxed pools: the task modules the children register (TASK_MODULES, --include, the built-ins). */
  readonly sandboxModules?: readonly string[];
  /** Told of the transitions of tasks that carry an origin (Celery's result backend). */
  readonly observer?: TaskObserver;
  /** Celery interoperability: the relay sends committed `defineCeleryTask` tasks through it. */
  readonly celery?: CeleryPublisher;
  /** Called in this process when a run ends (benchmarks, tests). */
  readonly onSettled?: (taskId: string, outcome: 'completed' | 'failed') => void;
}

export interface RunningWorker {
  readonly id: string;
  info(): WorkerInfo;
  /** Take no new task; let running ones finish within SHUTDOWN_GRACE_MS, return the rest to the queue. */
  close(): Promise<void>;
}

/** What a job says about its task: enough to write the row if the enqueue has not (yet). */
function jobTask(job: TaskJob, taskId: string) {
  return {
    id: taskId,
    name: job.name,
    queue: job.queueName,
    args: job.data.args ?? {},
    createdBy: job.data.by ?? null,
    requestId: job.data.req ?? null,
    traceId: job.data.tr ?? null,
    createdAt: new Date(job.timestamp),
  };
}

/** Why a run is aborted at shutdown: it goes back to the queue, not to FAILURE. */
class WorkerShutdownError extends Error {
  override name = 'WorkerShutdownError';
}

/** The task table did not take a run's outcome. */
class RecordingError extends Error {
  override name = 'RecordingError';
}

/** A rate-limited start this close is waited for in the worker; a later one in the broker. */
const HOLD_MS = 2_000;
/** A wait shorter than this is not worth telling the dashboard about. */
const NOTE_AFTER_MS = 250;

/**
 * A run is written STARTED once it has gone this long. A shorter one is recorded once, at its
 * end, with its start (Celery, by default, records no STARTED at all): one write fewer per task.
 */
export const STARTED_AFTER_MS = 50;

/** How long a task whose outcome could not be recorded waits before it runs again. */
const RECORD_RETRY_MS = 5_000;

/** Retrying cannot help: bad input, a revocation, a handler that says so. */
function isPermanent(err: unknown): boolean {
  return err instanceof NonRetryableError || err instanceof TaskRevokedError || (err instanceof Error && err.name === 'UnrecoverableError');
}

const errorOf = (err: unknown): Error => (err instanceof Error ? err : new Error(String(err)));

export async function startTaskWorker(opts: TaskWorkerOptions): Promise<RunningWorker> {
  const { config, backend, registry, database, logger } = opts;
  const id = `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const queues = opts.queues?.length ? [...opts.queues] : registry.queues();
  const concurrency = opts.concurrency ?? config.WORKER_CONCURRENCY;
  const startedAt = new Date();
  const claims = new pg.Pool({ connectionString: database.url, max: 2, application_name: 'conveyor-claims', options: '-c synchronous_commit=off' });
  claims.on('error', () => undefined); // a dropped idle connection is replaced on next use
  // Workflow steps revoked because an upstream step failed: any job they have leaves the broker.
  const limiter = createLimiter({ pool: database.pool, fastPool: claims, leaseMs: config.TASK_LOCK_MS });
  const writer = taskWriter(database.pool, claims, (steps) => {
    for (const s of steps) void backend.queue(s.queue).remove(s.id).catch(() => undefined);
  });
  const active = new Map<string, AbortController>();
  const stats = new StatsRecorder(database.db, id, logger);
  let processed = 0;
  let failed = 0;
  const hostname = os.hostname();

  /** Tell the observer of a transition of a task with an origin; its failure is only logged. */
  const notify = async (job: TaskJob, taskId: string, attempt: number, t: Pick<TaskTransition, 'state' | 'result' | 'error'>): Promise<void> => {
    const origin = job.data.origin;
    if (!opts.observer || !origin) return;
    try {
      await opts.observer.transition({ ...t, taskId, name: job.name, origin, attempt, hostname, pid: process.pid });
    } catch (err) {
      logger.warn({ err, task_id: taskId, state: t.state }, 'could not report a task\'s state to where it came from');
    }
  };

  const pool = opts.pool ?? 'inline';
  if (opts.maxTasksPerChild !== undefined && pool === 'inline') {
    throw new Error('maxTasksPerChild needs a sandboxed pool (threads or process)');
  }
  if (pool !== 'inline' && !opts.sandboxProcessor) throw new Error('a sandboxed pool needs its processor module (sandboxProcessor)');
  const sandbox =
    pool === 'inline'
      ? undefined
      : createSandboxPool({
          kind: pool,
          processorFile: opts.sandboxProcessor!,
          env: { ...process.env, TASK_MODULES: (opts.sandboxModules ?? config.taskModules).join(',') },
          ...(opts.maxTasksPerChild !== undefined ? { maxTasksPerChild: opts.maxTasksPerChild } : {}),
        });
  const execute: Executor = sandbox ? (input, job, token) => raceAbort(input, () => sandbox.run(job, token, input.controller.signal)) : (input) => runHandler(input);

  /** Record how a run ended, then tell BullMQ: a return completes the job, a throw fails or retries it. */
  const record = async (outcome: Parameters<typeof writer.outcome>[0]) => {
    try {
      await writer.outcome(outcome);
    } catch (err) {
      throw new RecordingError('recording the outcome failed', { cause: err });
    }
  };

  async function settle(task: AnyTask, job: TaskJob, taskId: string, attempt: number, run: RunFacts, result: { ok: true; value: unknown } | { ok: false; err: unknown }, row?: Claim): Promise<unknown> {
    const runtimeMs = run.ranMs;
    const ran = { run, workflow: Boolean(job.data.wf), ...(row ? { row } : {}) };
    const ttlSeconds = task.options.resultTtl ?? config.TASK_RESULT_TTL;
    if (result.ok) {
      await notify(job, taskId, attempt, { state: 'SUCCESS', result: result.value ?? null });
      await record({ id: taskId, state: 'SUCCESS', result: task.options.storeResult === false ? null : (result.value ?? null), ttlSeconds, ...ran });
      stats.ended(task.name, 'SUCCESS', runtimeMs);
      processed++;
      opts.onSettled?.(taskId, 'completed');
      return null;
    }
    const err = errorOf(result.err);
    if (err instanceof TaskRevokedError) {
      // revoke() wrote REVOKED already; the job must not run again.
      await notify(job, taskId, attempt, { state: 'REVOKED', error: err });
      stats.ended(task.name, 'REVOKED', runtimeMs);
      processed++;
      opts.onSettled?.(taskId, 'failed');
      throw new UnrecoverableError('revoked');
    }
    // Attempts made elsewhere (job.data.pre) are already out of job.opts.attempts.
    const willRetry = !isPermanent(err) && job.attemptsMade + 1 < (job.opts.attempts ?? 1);
    const message = err instanceof TaskTimeoutError ? 'timeout' : err.message;
    const traceback = err.stack;
    if (willRetry) {
      const runAt = new Date(Date.now() + backoffDelay(task.options.backoff, attempt));
      await notify(job, taskId, attempt, { state: 'RETRY', error: err });
      await record({ id: taskId, state: 'RETRY', error: message, ...(traceback ? { traceback } : {}), runAt, ...ran });
      stats.ended(task.name, 'RETRY', runtimeMs);
      processed++;
      opts.onSettled?.(taskId, 'failed');
      throw err;
    }
    await notify(job, taskId, attempt, { state: 'FAILURE', error: err });
    await record({ id: taskId, state: 'FAILURE', error: message, ...(traceback ? { traceback } : {}), ttlSeconds, ...ran });
    stats.ended(task.name, 'FAILURE', runtimeMs);
    processed++;
    failed++;
    opts.onSettled?.(taskId, 'failed');
    throw new UnrecoverableError(message);
  }

  /** Back to the broker until `until`, the row saying why (a limit); not an attempt. */
  const note = (job: TaskJob, taskId: string, until: number, why: string) =>
    void writer.waiting({ task: jobTask(job, taskId), why, until: new Date(until) }).catch((err: unknown) => logger.warn({ err, task_id: taskId }, 'could not record why a task waits'));

  /** Back to the broker until `until` (freeing this slot of the worker for other tasks), the row saying why. */
  const wait = async (job: TaskJob, token: string | undefined, taskId: string, until: number, why: string, data?: Partial<TaskJob['data']>, wakeAt = until): Promise<never> => {
    note(job, taskId, until, why);
    if (data) await job.updateData({ ...job.data, ...data });
    await job.moveToDelayed(Math.ceil(wakeAt), token);
    throw new DelayedError();
  };

  /** Rate and concurrency limits across the deployment (limits.ts); resolves once this run may start. */
  const admit = async (task: AnyTask, job: TaskJob, token: string | undefined, taskId: string): Promise<void> => {
    if (task.options.rateLimit) {
      // Each run has a slot (on the database's clock): a near one is waited for here, a far one
      // back in the broker. A fresh slot is taken as it comes (it is never before the moment it
      // was reserved); a run that reaches a slot it held more than the tolerance late reserves
      // again, so late runs cannot bunch up (limits.ts says why that keeps the limit exact).
      const late = startTolerance(task.options.rateLimit);
      let slot = job.data.slot;
      let fresh = false;
      for (;;) {
        if (slot === undefined) {
          slot = await limiter.reserveRate(task, job.data.args);
          fresh = true;
        }
        const ahead = limiter.toLocal(slot) - Date.now();
        // Back from the broker early (some backends promote delayed jobs late), then held here.
        if (ahead > HOLD_MS) await wait(job, token, taskId, limiter.toLocal(slot), waitingForRate(task, slot), { slot }, limiter.toLocal(slot) - HOLD_MS / 2);
        if (ahead > 0) {
          if (ahead > NOTE_AFTER_MS) note(job, taskId, limiter.toLocal(slot), waitingForRate(task, slot));
          await sleep(ahead);
          fresh = false;
        }
        if (fresh || Date.now() - limiter.toLocal(slot) <= late) break;
        slot = undefined;
      }
    }
    if (task.options.concurrency && !(await limiter.acquire(task, job.data.args, taskId))) {
      await wait(job, token, taskId, Date.now() + CONCURRENCY_RETRY_MS + Math.floor(Math.random() * CONCURRENCY_RETRY_MS), waitingForConcurrency(task));
    }
  };

  const processor = async (job: TaskJob, token?: string): Promise<unknown> => {
    const taskId = taskIdOfJob(job.id ?? '');
    const task = registry.get(job.name);
    const attempt = job.attemptsMade + 1 + (job.data.pre ?? 0);
    if (job.data.exp !== undefined && Date.now() > job.data.exp) {
      // Celery's `expires`: not started in time, so never started.
      const revoked = new TaskRevokedError('expired');
      await notify(job, taskId, attempt, { state: 'REVOKED', error: revoked });
      try {
        await revokeTask(database.pool, taskId, task?.options.resultTtl ?? config.TASK_RESULT_TTL, 'expired');
      } catch (err) {
        logger.warn({ err, task_id: taskId }, 'could not record an expired task (is the database reachable?); it will be tried again');
        await job.moveToDelayed(Date.now() + RECORD_RETRY_MS, token);
        throw new DelayedError();
      }
      return null;
    }
    if (task && (task.options.rateLimit || task.options.concurrency)) {
      try {
        await admit(task, job, token, taskId);
      } catch (err) {
        if (err instanceof DelayedError) throw err;
        // The limits could not be checked (the database is unreachable): the task keeps its
        // job and is tried again in a while; failing the job would lose a PENDING task.
        logger.warn({ err, task_id: taskId }, 'could not check the limits of a task; it will be tried again');
        await job.moveToDelayed(Date.now() + RECORD_RETRY_MS, token);
        throw new DelayedError();
      }
    }
    try {
      const admittedAt = task?.options.rateLimit ? new Date(limiter.toDb(Date.now())) : undefined;
      return await processAdmitted(job, token, taskId, task, attempt, admittedAt);
    } finally {
      if (task?.options.concurrency) await limiter.release(taskId).catch((err: unknown) => logger.warn({ err, task_id: taskId }, 'could not release a concurrency slot (it lapses)'));
    }
  };

  const processAdmitted = async (job: TaskJob, token: string | undefined, taskId: string, task: AnyTask | undefined, attempt: number, admittedAt?: Date): Promise<unknown> => {
    const facts = (ranMs?: number): Claim => ({ ...jobTask(job, taskId), attempt, workerId: id, ...(admittedAt ? { admittedAt } : {}), ...(ranMs !== undefined ? { ranMs } : {}) });
    const claim = (ranMs?: number) => writer.claim(facts(ranMs));
    let recorded = false;
    // The row is the gate. A job whose row is missing (its enqueue's insert not committed
    // yet, a periodic task) was never revoked (a revocation needs the row) and runs at once;
    // its outcome makes the row if it is still missing then (records.recordOutcomes).
    const verdict = await writer.gate(taskId).catch(async (err: unknown) => {
      logger.warn({ err, task_id: taskId }, 'could not read a task before its run (is the database reachable?); it will be tried again');
      await job.moveToDelayed(Date.now() + RECORD_RETRY_MS, token);
      throw new DelayedError();
    });
    if (verdict === 'gone') return null; // revoked or finished before this delivery: nothing to run
    const missing = verdict === 'missing';
    if (!task) {
      // Celery's answer to a name this worker does not know.
      const message = `NotRegistered: task ${JSON.stringify(job.name)} is not registered in this worker`;
      await notify(job, taskId, attempt, { state: 'FAILURE', error: Object.assign(new Error(JSON.stringify(job.name)), { name: 'NotRegistered' }) });
      await writer.outcome({ id: taskId, state: 'FAILURE', error: message, ttlSeconds: config.TASK_RESULT_TTL, run: { attempt, workerId: id, recorded, ranMs: 0 }, ...(missing ? { row: facts(0) } : {}) });
      throw new UnrecoverableError(message);
    }
    void notify(job, taskId, attempt, { state: 'STARTED' }); // the run does not wait for it (observer.ts)
    const controller = new AbortController();
    active.set(taskId, controller);
    const began = performance.now();
    // A run that outlasts STARTED_AFTER_MS is written STARTED; a shorter one only at its end.
    let started: Promise<unknown> | undefined;
    const startTimer = recorded
      ? undefined
      : setTimeout(() => {
          started = claim(performance.now() - began).then(
            (ok) => (recorded = ok),
            (err: unknown) => logger.warn({ err, task_id: taskId }, 'could not mark a running task STARTED'),
          );
        }, opts.startedAfterMs ?? STARTED_AFTER_MS);
    const input: RunInput = {
      task,
      taskId,
      args: job.data.args,
      attempt,
      timeoutMs: job.data.timeoutMs ?? task.options.timeoutMs,
      previous: job.data.prev,
      workflowId: job.data.wf ?? undefined,
      log: () => logger.child({ task_id: taskId, task: task.name }),
      controller,
      progress: (value) => job.updateProgress(value),
    };
    let ended: { ok: true; value: unknown } | { ok: false; err: unknown };
    try {
      ended = { ok: true, value: await execute(input, job, token) };
    } catch (err) {
      if (err instanceof WorkerShutdownError || (err as Error)?.cause instanceof WorkerShutdownError) {
        // Back to the queue for another worker, and PENDING again in the table.
        await job.moveToWait(token);
        await requeueTask(database.pool, taskId).catch((e: unknown) => logger.warn({ err: e, task_id: taskId }, 'could not mark a returned task PENDING'));
        throw new WaitingError();
      }
      ended = { ok: false, err };
    } finally {
      active.delete(taskId);
      clearTimeout(startTimer);
      await started; // the outcome is written after STARTED, never before it
    }
    const ranMs = performance.now() - began;
    const run: RunFacts = { attempt, workerId: id, recorded, ranMs, ...(admittedAt ? { admittedAt } : {}) };
    try {
      return await settle(task, job, taskId, attempt, run, ended, missing && !recorded ? facts(ranMs) : undefined);
    } catch (err) {
      if (!(err instanceof RecordingError)) throw err;
      // The table did not take the outcome (the database is unreachable): keep the job and
      // run it again in a while rather than let the broker forget a task the table still
      // calls STARTED. At least once, as everywhere.
      logger.warn({ err: err.cause, task_id: taskId }, 'could not record how a task ended; it will run again');
      await job.moveToDelayed(Date.now() + RECORD_RETRY_MS, token);
      throw new DelayedError();
    }
  };

  let closing: Promise<void> | undefined;
  const workers: TaskWorker[] = queues.map((queue) => {
    const w = backend.worker(queue, processor, {
      name: id,
      concurrency,
      lockDuration: config.TASK_LOCK_MS,
      stalledInterval: config.TASK_LOCK_MS,
      maxStalledCount: 2,
      settings: {
        backoffStrategy: (attemptsMade: number, type?: string, _err?: Error, job?: { name: string }) =>
          type === BACKOFF_TYPE ? backoffDelay(job ? registry.get(job.name)?.options.backoff : undefined, attemptsMade) : 1_000,
      },
    });
    w.on('error', (err) => {
      // After close() the worker's connections end with the database: nothing to retry.
      if (!closing) logger.warn({ err, queue }, 'task worker connection error (retrying)');
    });
    return w;
  });

  await upsertSchedules(opts, queues);

  const info = (): WorkerInfo => ({
    id,
    host: os.hostname(),
    pid: process.pid,
    queues,
    concurrency,
    active: active.size,
    processed,
    failed,
    memoryBytes: process.memoryUsage.rss(),
    startedAt,
    lastSeen: new Date(),
    online: true,
  });

  const beat = async () => {
    try {
      const { online: _o, lastSeen: _l, ...hb } = info();
      await upsertHeartbeat(database.db, hb);
      await stats.flush();
    } catch (err) {
      logger.warn({ err }, 'heartbeat failed');
    }
  };
  // A young task table's statistics, kept fresh so that cached plans use its indexes (statistics.ts).
  let analyzing: Promise<unknown> | undefined;
  const analyze = () =>
    void (analyzing ??= analyzeGrownTables(database.pool)
      .catch((err: unknown) => logger.warn({ err }, 'could not analyze the task tables'))
      .finally(() => (analyzing = undefined)));
  await beat();
  const heartbeat = setInterval(() => {
    void beat();
    analyze();
  }, opts.heartbeatMs ?? 2_000);
  const prune = setInterval(() => void pruneStore(database.db).catch(() => undefined), 3_600_000);
  const retention = startRetention({ pool: database.pool, config, logger, everyMs: opts.trimEveryMs });
  const relay = startRelay({ database, backend, registry, logger, queues, ...(opts.celery ? { celery: opts.celery } : {}) });

  // Concurrency leases of running tasks stay alive while they run (a crashed worker's lapse).
  const renew = setInterval(() => void limiter.renew([...active.keys()]).catch(() => undefined), Math.max(500, Math.floor(config.TASK_LOCK_MS / 3)));
  renew.unref();

  // Revocations of running tasks: their rows say REVOKED (waiting ones are never claimed).
  let polling = false;
  const revokePoll = setInterval(() => {
    if (active.size === 0 || polling) return;
    polling = true;
    database.pool
      .query<{ id: string }>(`SELECT id::text AS id FROM app.tasks WHERE id = ANY($1::uuid[]) AND state = 'REVOKED'`, [[...active.keys()]])
      .then(({ rows }) => {
        for (const { id: taskId } of rows) active.get(taskId)?.abort(new TaskRevokedError());
      })
      .catch((err: unknown) => logger.warn({ err }, 'revocation check failed'))
      .finally(() => (polling = false));
  }, opts.revokePollMs ?? 250);

  logger.info({ worker: id, queues, concurrency, mode: config.mode }, 'task worker started');

  return {
    id,
    info,
    close: () =>
      (closing ??= (async () => {
        clearInterval(revokePoll);
        clearInterval(renew);
        clearInterval(prune);
        await retention.stop();
        await relay.stop();
        const graceful = Promise.allSettled(workers.map((w) => w.close()));
        let timer: NodeJS.Timeout | undefined;
        const late = await Promise.race([
          graceful.then(() => false),
          new Promise<boolean>((r) => (timer = setTimeout(() => r(true), config.SHUTDOWN_GRACE_MS))),
        ]);
        clearTimeout(timer);
        if (late) {
          logger.warn({ running: active.size }, 'grace period over: returning running tasks to the queue');
          for (const c of active.values()) c.abort(new WorkerShutdownError('worker shutting down'));
          await graceful;
        }
        await writer.drain();
        await claims.end();
        await sandbox?.close();
        clearInterval(heartbeat);
        await analyzing;
        await beat();
        logger.info({ worker: id, processed, failed }, 'task worker stopped');
      })()),
  };
}

/** Periodic tasks: one job scheduler per task; BullMQ makes each tick run once across workers. */
async function upsertSchedules(opts: TaskWorkerOptions, queues: readonly string[]): Promise<void> {
  for (const task of opts.registry.all()) {
    const schedule = task.options.schedule;
    const queue = task.options.queue ?? 'default';
    if (!schedule || !queues.includes(queue)) continue;
    const { jobId: _j, ...jobOpts } = jobOptions(task);
    const q = opts.backend.queue(queue);
    try {
      await q.upsertJobScheduler(
        task.name,
        schedule.cron ? { pattern: schedule.cron, ...(schedule.tz ? { tz: schedule.tz } : {}) } : { every: schedule.everyMs ?? 60_000 },
        { name: task.name, data: { args: schedule.args ?? {} }, opts: jobOpts },
      );
    } catch (err) {
      // Workers starting at once race for the schedule's next iteration, and BullMQ's
      // PostgreSQL backend fails the one that loses ("job ID already exists"): the schedule
      // is there, made by the other. Anything else goes on.
      if (!(await q.getJobScheduler(task.name).catch(() => undefined))) throw err;
      opts.logger.info({ err, task: task.name }, 'another worker wrote this periodic schedule at the same moment');
    }
  }
}
