/**
 * The worker runner (`conveyor worker`, or in-process under `conveyor serve` in embedded
 * mode): one BullMQ Worker per queue sharing a processor, a heartbeat every 2 s, the
 * revocation poller, the per-minute history and the periodic schedules.
 *
 * Delivery is at least once: a task whose worker dies mid-run is found by BullMQ's stalled
 * check (after about TASK_LOCK_MS) and runs again on another worker.
 *
 * This module must never import the HTTP stack (fastify, src/app).
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { WaitingError, type Job } from 'bullmq';
import type { Logger } from 'pino';
import type { Config } from '../config/index.ts';
import type { Database } from '../db/client.ts';
import type { TaskBackend, TaskJobData, TaskWorker } from './backend.ts';
import { TaskRevokedError } from './define.ts';
import { createProcessor, raceAbort, type ActiveRuns } from './execute.ts';
import { BACKOFF_TYPE, backoffDelay, jobOptions } from './job-options.ts';
import { createSandboxPool } from './pool.ts';
import { TRIM_EVERY_MS, trimFinished } from './retention.ts';
import type { TaskRegistry } from './registry.ts';
import { REVOKED_REASON } from './state.ts';
import { StatsRecorder } from './stats.ts';
import { pruneStore, revocationsSince, upsertHeartbeat } from './store.ts';
import type { WorkerInfo } from './types.ts';

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
  /** How often finished tasks are trimmed to TASK_RESULT_MAX on PostgreSQL, in ms. Default 60 s. */
  readonly trimEveryMs?: number;
  /** How often running tasks are checked for revocation, in ms. Default 250. */
  readonly revokePollMs?: number;
  /**
   * Where handlers run: `inline` (this event loop), or sandboxed in worker `threads` or
   * child `process`es (CPU-bound tasks). Default `inline`.
   */
  readonly pool?: 'inline' | 'threads' | 'process';
  /** Sandboxed pools: retire a child after this many tasks (Celery's --max-tasks-per-child). */
  readonly maxTasksPerChild?: number;
  /** Task modules the sandbox must load besides TASK_MODULES (`--include`). */
  readonly include?: readonly string[];
  /** Called in this process when a run ends (benchmarks, tests). */
  readonly onSettled?: (taskId: string, outcome: 'completed' | 'failed') => void;
}

export interface RunningWorker {
  readonly id: string;
  info(): WorkerInfo;
  /** Take no new task; let running ones finish within SHUTDOWN_GRACE_MS, return the rest to the queue. */
  close(): Promise<void>;
}

/** Why a run is aborted at shutdown: it goes back to the queue, not to FAILURE. */
class WorkerShutdownError extends Error {
  override name = 'WorkerShutdownError';
}

export async function startTaskWorker(opts: TaskWorkerOptions): Promise<RunningWorker> {
  const { config, backend, registry, database, logger } = opts;
  const id = `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const queues = opts.queues?.length ? [...opts.queues] : registry.queues();
  const concurrency = opts.concurrency ?? config.WORKER_CONCURRENCY;
  const startedAt = new Date();
  const active: ActiveRuns = new Map();
  const tokens = new Map<string, { job: Job<TaskJobData>; token: string | undefined }>();
  const revoked = new Set<string>();
  const stats = new StatsRecorder(database.db, id, logger);
  let processed = 0;
  let failed = 0;

  const pool = opts.pool ?? 'inline';
  if (opts.maxTasksPerChild !== undefined && pool === 'inline') {
    throw new Error('maxTasksPerChild needs a sandboxed pool (threads or process)');
  }
  const sandbox =
    pool === 'inline'
      ? undefined
      : createSandboxPool({
          kind: pool,
          env: { ...process.env, TASK_MODULES: [...config.taskModules, ...(opts.include ?? [])].join(',') },
          ...(opts.maxTasksPerChild !== undefined ? { maxTasksPerChild: opts.maxTasksPerChild } : {}),
        });
  const run = createProcessor({
    registry,
    active,
    logger,
    revoked,
    ...(sandbox ? { execute: (input, job, token) => raceAbort(input, () => sandbox.run(job, token, input.controller.signal)) } : {}),
  });
  const processor = async (job: Job<TaskJobData>, token?: string) => {
    tokens.set(job.id ?? '', { job, token });
    try {
      return await run(job);
    } catch (err) {
      if ((err as Error).cause instanceof WorkerShutdownError || err instanceof WorkerShutdownError) {
        await job.moveToWait(token);
        throw new WaitingError();
      }
      throw err;
    } finally {
      tokens.delete(job.id ?? '');
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
    w.on('completed', (job) => {
      processed++;
      opts.onSettled?.(job.id ?? '', 'completed');
      stats.succeeded(job.finishedOn && job.processedOn ? job.finishedOn - job.processedOn : 0);
    });
    w.on('failed', (job, err) => {
      if (err instanceof WaitingError || err?.name === 'WaitingError') return;
      processed++;
      // A revoked task ends as a BullMQ failure, but it is REVOKED, not FAILURE: not a failure in the history.
      if (err?.message === REVOKED_REASON) {
        if (job) opts.onSettled?.(job.id ?? '', 'failed');
        return;
      }
      if (job) opts.onSettled?.(job.id ?? '', 'failed');
      const willRetry = job !== undefined && job.attemptsMade < (job.opts.attempts ?? 1) && err?.name !== 'UnrecoverableError';
      if (willRetry) stats.retried();
      else {
        failed++;
        stats.failed(job?.finishedOn && job.processedOn ? job.finishedOn - job.processedOn : 0);
      }
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
  await beat();
  const heartbeat = setInterval(() => void beat(), opts.heartbeatMs ?? 2_000);
  const prune = setInterval(() => void pruneStore(database.db).catch(() => undefined), 3_600_000);
  // PostgreSQL backends trim results by count here rather than on each finish (see retention.ts).
  const trim =
    backend.kind === 'postgres'
      ? setInterval(() => {
          for (const queue of queues) {
            trimFinished(backend.queue(queue), config).catch((err: unknown) => logger.warn({ err, queue }, 'result trim failed'));
          }
        }, opts.trimEveryMs ?? TRIM_EVERY_MS)
      : undefined;

  // Revocations: only polled while something runs here (waiting tasks carry their own marker).
  let seq = (await revocationsSince(database.db, undefined)).seq;
  let polling = false;
  const revokePoll = setInterval(() => {
    if (active.size === 0 || polling) return;
    polling = true;
    revocationsSince(database.db, seq)
      .then((r) => {
        seq = r.seq;
        for (const taskId of r.ids) {
          revoked.add(taskId);
          active.get(taskId)?.abort(new TaskRevokedError());
        }
        if (revoked.size > 10_000) revoked.clear();
      })
      .catch((err: unknown) => logger.warn({ err }, 'revocation poll failed'))
      .finally(() => (polling = false));
  }, opts.revokePollMs ?? 250);

  logger.info({ worker: id, queues, concurrency, mode: config.mode }, 'task worker started');

  return {
    id,
    info,
    close: () =>
      (closing ??= (async () => {
        clearInterval(revokePoll);
        clearInterval(prune);
        clearInterval(trim);
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
        await sandbox?.close();
        clearInterval(heartbeat);
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
    const { jobId: _j, ...jobOpts } = jobOptions(task, opts.config);
    await opts.backend.queue(queue).upsertJobScheduler(
      task.name,
      schedule.cron ? { pattern: schedule.cron, ...(schedule.tz ? { tz: schedule.tz } : {}) } : { every: schedule.everyMs ?? 60_000 },
      { name: task.name, data: { args: schedule.args ?? {} }, opts: jobOpts },
    );
  }
}
