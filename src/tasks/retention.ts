/**
 * Result retention, with plain SQL on the task table: a finished task goes when its TTL
 * (`TASK_RESULT_TTL`, or the task's own `resultTtl`) has passed, and beyond the newest
 * `TASK_RESULT_MAX` tasks of one outcome the oldest go (and the dependency rows of workflow
 * steps gone with them). Every worker runs it once a minute;
 * an advisory lock lets one at a time do the work.
 */
import type pg from 'pg';
import type { Logger } from 'pino';
import type { Config } from '../config/index.ts';
import { trimBeyond, trimExpired, trimWaits } from './records.ts';
import { finishedStateList } from './types.ts';

export const TRIM_EVERY_MS = 60_000;
/** pg_try_advisory_lock key: "conveyor retention". */
const LOCK_KEY = 0x636f6e76;

export async function trimOnce(pool: pg.Pool, config: Pick<Config, 'TASK_RESULT_MAX'>): Promise<number> {
  const client = await pool.connect();
  try {
    const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [LOCK_KEY]);
    if (!rows[0]?.locked) return 0; // another worker is at it
    try {
      let removed = await trimExpired(pool);
      for (const state of finishedStateList) removed += await trimBeyond(pool, state, config.TASK_RESULT_MAX);
      if (removed > 0) await trimWaits(pool);
      return removed;
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [LOCK_KEY]);
    }
  } finally {
    client.release();
  }
}

export function startRetention(opts: { pool: pg.Pool; config: Pick<Config, 'TASK_RESULT_MAX'>; logger: Pick<Logger, 'warn'>; everyMs?: number | undefined }): { stop(): Promise<void> } {
  let running: Promise<unknown> | undefined;
  const timer = setInterval(() => {
    running ??= trimOnce(opts.pool, opts.config)
      .catch((err: unknown) => opts.logger.warn({ err }, 'result trim failed'))
      .finally(() => (running = undefined));
  }, opts.everyMs ?? TRIM_EVERY_MS);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
