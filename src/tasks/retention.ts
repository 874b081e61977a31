/**
 * Result retention: TASK_RESULT_TTL by age and TASK_RESULT_MAX by count, per queue and
 * outcome (completed, failed).
 *
 * On Redis BullMQ applies both as each task finishes (sorted-set trims, cheap). BullMQ's
 * PostgreSQL backend applies them in the finishing transaction with statements that scan
 * every finished row of the queue (a NOT IN for the count; a state-parameterised DELETE
 * that cannot use the partial index for the age), so a queue holding n results pays O(n)
 * per task: measured (on the embedded engine of the time), 10,000 tasks ran at a third of the speed. There,
 * workers trim by age and count once a minute instead (trimFinished), so a queue may hold
 * up to a minute's worth more than the limits. A task declared with its own `resultTtl`
 * keeps the per-finish age check on every backend.
 */
import type { Config } from '../config/index.ts';
import type { TaskQueue } from './backend.ts';

/** BullMQ's removeOnComplete / removeOnFail: `false` keeps the result (a worker trims it later). */
export type KeepJobs = { age: number; count?: number } | false;

type RetentionConfig = Pick<Config, 'TASK_RESULT_TTL' | 'TASK_RESULT_MAX' | 'REDIS_URL'>;

/** What each job carries as removeOnComplete / removeOnFail. */
export function keepJobs(config: RetentionConfig, taskTtl?: number): KeepJobs {
  if (config.REDIS_URL) return { age: taskTtl ?? config.TASK_RESULT_TTL, count: config.TASK_RESULT_MAX };
  return taskTtl !== undefined ? { age: taskTtl } : false;
}

/** How often workers on PostgreSQL trim finished tasks. */
export const TRIM_EVERY_MS = 60_000;

/**
 * Remove a queue's finished tasks older than TASK_RESULT_TTL, then those beyond the newest
 * TASK_RESULT_MAX of each outcome; returns how many went.
 */
export async function trimFinished(queue: TaskQueue, config: Pick<Config, 'TASK_RESULT_TTL' | 'TASK_RESULT_MAX'>): Promise<number> {
  let removed = 0;
  for (const type of ['completed', 'failed'] as const) {
    removed += (await queue.clean(config.TASK_RESULT_TTL * 1000, 0, type)).length;
    // The newest result beyond the ones kept: it and everything that finished before it go
    // (results finishing in the same millisecond go too; the count is approximate by that much).
    const [beyond] = await queue.getJobs([type], config.TASK_RESULT_MAX, config.TASK_RESULT_MAX, false);
    if (!beyond?.finishedOn) continue;
    removed += (await queue.clean(Math.max(0, Date.now() - beyond.finishedOn), 0, type)).length;
  }
  return removed;
}
