/** A task's options (and a caller's overrides) as BullMQ job options. */
import type { JobsOptions } from 'bullmq';
import type { AnyTask, BackoffOptions } from './define.ts';
import type { TaskJobData } from './backend.ts';
import type { StoredOptions } from './table.ts';
import type { EnqueueOptions } from './types.ts';

/** The enqueue options a row keeps for a later hand-over (relay), from a caller's. */
export function storedOptions(o: EnqueueOptions): StoredOptions {
  return {
    ...(o.retries !== undefined ? { retries: o.retries } : {}),
    ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}),
    ...(o.priority !== undefined ? { priority: o.priority } : {}),
    ...(o.origin ? { origin: o.origin } : {}),
    ...(o.attemptsBefore ? { attemptsBefore: o.attemptsBefore } : {}),
    ...(o.expiresAt ? { expiresAt: o.expiresAt.getTime() } : {}),
  };
}

/** What a job carries of the stored options beyond BullMQ's own (origin, attempts before, expiry). */
export function extraJobData(o: StoredOptions): Pick<TaskJobData, 'origin' | 'pre' | 'exp' | 'timeoutMs'> {
  return {
    ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}),
    ...(o.origin ? { origin: o.origin } : {}),
    ...(o.attemptsBefore ? { pre: o.attemptsBefore } : {}),
    ...(o.expiresAt !== undefined ? { exp: o.expiresAt } : {}),
  };
}

/** The backoff type name our workers' backoffStrategy answers to. */
export const BACKOFF_TYPE = 'conveyor';

export function jobOptions(task: AnyTask, opts: EnqueueOptions = {}): JobsOptions {
  // Attempts made elsewhere (a Celery message's `retries`) come out of the retry budget.
  const retries = Math.max(0, (opts.retries ?? task.options.retries ?? 0) - (opts.attemptsBefore ?? 0));
  const priority = opts.priority ?? task.options.priority;
  return {
    ...(opts.taskId ? { jobId: opts.taskId } : {}),
    attempts: retries + 1,
    ...(retries > 0 ? { backoff: { type: BACKOFF_TYPE, delay: task.options.backoff?.delayMs ?? 1_000 } } : {}),
    ...(opts.delayMs ? { delay: opts.delayMs } : {}),
    ...(priority ? { priority } : {}),
    // The task table keeps the record (and trims it): a job is gone from the broker once run.
    removeOnComplete: true,
    removeOnFail: true,
  };
}

/** Delay before retry number `attemptsMade` (1 = first retry): exponential or fixed, capped. */
export function backoffDelay(backoff: BackoffOptions | undefined, attemptsMade: number): number {
  const base = backoff?.delayMs ?? 1_000;
  const max = backoff?.maxDelayMs ?? 60_000;
  const raw = backoff?.type === 'fixed' ? base : base * 2 ** Math.max(0, attemptsMade - 1);
  return Math.min(raw, max);
}
