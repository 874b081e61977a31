import { bigint, integer, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';
import { app } from '../../db/pg-schema.ts';

/** One row per worker process, upserted by its heartbeat (every ~2 s). */
export const taskWorkers = app.table('task_workers', {
  id: text('id').primaryKey(),
  host: text('host').notNull(),
  pid: integer('pid').notNull(),
  queues: text('queues').array().notNull(),
  concurrency: integer('concurrency').notNull(),
  active: integer('active').notNull().default(0),
  processed: bigint('processed', { mode: 'number' }).notNull().default(0),
  failed: bigint('failed', { mode: 'number' }).notNull().default(0),
  memoryBytes: bigint('memory_bytes', { mode: 'number' }).notNull().default(0),
  startedAt: timestamp('started_at', { withTimezone: true }).notNull(),
  lastSeen: timestamp('last_seen', { withTimezone: true }).notNull(),
});

/** Revocations, polled by workers to abort running tasks (the state itself lives on the job). */
export const taskRevocations = app.table('task_revocations', {
  seq: bigint('seq', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
  taskId: text('task_id').notNull(),
  revokedAt: timestamp('revoked_at', { withTimezone: true }).notNull().defaultNow(),
});

/**
 * Per-minute task history per worker, written in batches off the hot path. Runtimes are
 * kept as a log-scale histogram so percentiles can be merged across workers.
 */
export const taskStatsMinute = app.table(
  'task_stats_minute',
  {
    minute: timestamp('minute', { withTimezone: true }).notNull(),
    workerId: text('worker_id').notNull(),
    succeeded: integer('succeeded').notNull().default(0),
    failed: integer('failed').notNull().default(0),
    retried: integer('retried').notNull().default(0),
    runtimeHist: integer('runtime_hist').array().notNull(),
  },
  (t) => [primaryKey({ columns: [t.minute, t.workerId] })],
);
