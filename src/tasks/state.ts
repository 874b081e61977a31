/**
 * Celery's states, derived from what BullMQ already stores for every job — no extra
 * write per task:
 *
 * | BullMQ                                   | Celery   |
 * |------------------------------------------|----------|
 * | `data.revoked`, or failed with `revoked` | REVOKED  |
 * | waiting / prioritized / delayed, 0 tries | PENDING  |
 * | waiting / delayed after a failed attempt | RETRY    |
 * | active                                   | STARTED  |
 * | completed                                | SUCCESS  |
 * | failed                                   | FAILURE  |
 */
import type { Job, JobState } from 'bullmq';
import type { TaskJobData } from './backend.ts';
import type { TaskRecord, TaskState } from './types.ts';

export const REVOKED_REASON = 'revoked';

export type BullState = JobState | 'unknown';

export function celeryState(job: Pick<Job<TaskJobData>, 'data' | 'attemptsMade' | 'failedReason'>, bull: BullState): TaskState {
  if (job.data?.revoked || (bull === 'failed' && job.failedReason === REVOKED_REASON)) return 'REVOKED';
  switch (bull) {
    case 'completed':
      return 'SUCCESS';
    case 'failed':
      return 'FAILURE';
    case 'active':
      return 'STARTED';
    default:
      return job.attemptsMade > 0 ? 'RETRY' : 'PENDING';
  }
}

const date = (ms: number | undefined) => (ms ? new Date(ms) : null);

export function toRecord(job: Job<TaskJobData>, bull: BullState): TaskRecord {
  const state = celeryState(job, bull);
  const finished = bull === 'completed' || bull === 'failed';
  // On BullMQ's PostgreSQL backend processedOn has been seen 28 ms before the job's own
  // timestamp (a worker already waiting picked it up): a task is never reported as
  // started before it was created.
  const started = bull === 'active' || finished ? (job.processedOn ? Math.max(job.processedOn, job.timestamp) : undefined) : undefined;
  return {
    id: job.id ?? '',
    name: job.name,
    queue: job.queueName,
    state,
    args: job.data?.args ?? null,
    ...(bull === 'completed' ? { result: job.returnvalue ?? null } : {}),
    ...(job.failedReason && state !== 'SUCCESS' ? { error: job.failedReason } : {}),
    ...(job.stacktrace?.length ? { traceback: job.stacktrace.at(-1) ?? '' } : {}),
    retries: Math.max(0, finished ? job.attemptsMade - 1 : job.attemptsMade),
    createdBy: job.data?.by ?? null,
    createdAt: new Date(job.timestamp),
    startedAt: date(started),
    finishedAt: finished ? date(job.finishedOn) : null,
    runtimeMs: finished && started && job.finishedOn ? Math.max(0, job.finishedOn - started) : null,
  };
}

/** BullMQ job types that can hold a task in the given Celery state. */
export function bullTypesFor(state: TaskState | undefined): JobState[] {
  switch (state) {
    case 'PENDING':
    case 'RETRY':
      return ['waiting', 'prioritized', 'delayed'];
    case 'STARTED':
      return ['active'];
    case 'SUCCESS':
      return ['completed'];
    case 'FAILURE':
      return ['failed'];
    case 'REVOKED':
      return ['failed', 'waiting', 'prioritized', 'delayed', 'active', 'completed'];
    default:
      return ['active', 'waiting', 'prioritized', 'delayed', 'completed', 'failed'];
  }
}
