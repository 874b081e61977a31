/**
 * The engine's bookkeeping rows in PostgreSQL (every mode has one): worker heartbeats, the
 * per-minute history and the running totals behind /metrics. Repository functions take the Db first.
 */
import { and, desc, gte, sql } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { taskCounters, taskStatsMinute, taskWorkers } from './table.ts';
import type { TaskState, TaskStatsMinute, WorkerInfo } from './types.ts';

/** A worker is online while its last heartbeat is younger than this. */
export const ONLINE_MS = 6_000;

export type Heartbeat = Omit<WorkerInfo, 'online' | 'lastSeen'>;

export async function upsertHeartbeat(db: Db, hb: Heartbeat): Promise<void> {
  const row = {
    id: hb.id,
    host: hb.host,
    pid: hb.pid,
    queues: [...hb.queues],
    concurrency: hb.concurrency,
    active: hb.active,
    processed: hb.processed,
    failed: hb.failed,
    memoryBytes: hb.memoryBytes,
    startedAt: hb.startedAt,
    lastSeen: new Date(),
  };
  await db.insert(taskWorkers).values(row).onConflictDoUpdate({ target: taskWorkers.id, set: { ...row, id: undefined } });
}

/** Workers seen in the last hour, newest first; `online` from the heartbeat's age. */
export async function listWorkers(db: Db): Promise<WorkerInfo[]> {
  const rows = await db
    .select()
    .from(taskWorkers)
    .where(gte(taskWorkers.lastSeen, new Date(Date.now() - 3600_000)))
    .orderBy(desc(taskWorkers.lastSeen));
  const now = Date.now();
  return rows.map(({ celeryFreq, celeryLoadavg, celeryOffline, ...r }) =>
    celeryFreq === null
      ? { ...r, online: now - r.lastSeen.getTime() < ONLINE_MS }
      : // A Celery worker is offline once it said so, or after twice its heartbeat frequency (Flower's rule).
        { ...r, online: !celeryOffline && now - r.lastSeen.getTime() < 2 * celeryFreq * 1000, celery: { freq: celeryFreq, loadavg: celeryLoadavg ?? [] } },
  );
}

export interface MinuteSample {
  readonly minute: Date;
  readonly succeeded: number;
  readonly failed: number;
  readonly retried: number;
  readonly hist: readonly number[];
}

/** Add one worker's counts for some minutes (merged into what it already wrote). */
export async function addMinuteStats(db: Db, workerId: string, samples: readonly MinuteSample[]): Promise<void> {
  if (samples.length === 0) return;
  await db
    .insert(taskStatsMinute)
    .values(samples.map((s) => ({ minute: s.minute, workerId, succeeded: s.succeeded, failed: s.failed, retried: s.retried, runtimeHist: [...s.hist] })))
    .onConflictDoUpdate({
      target: [taskStatsMinute.minute, taskStatsMinute.workerId],
      set: {
        succeeded: sql`${taskStatsMinute.succeeded} + excluded.succeeded`,
        failed: sql`${taskStatsMinute.failed} + excluded.failed`,
        retried: sql`${taskStatsMinute.retried} + excluded.retried`,
        runtimeHist: sql`(SELECT array_agg(coalesce(a, 0) + coalesce(b, 0) ORDER BY i) FROM unnest(${taskStatsMinute.runtimeHist}, excluded.runtime_hist) WITH ORDINALITY AS t(a, b, i))`,
      },
    });
}

/** Histogram bucket upper bounds (ms): 1, 2, 4 … ~4.6 h; the last bucket takes the rest. */
export const HIST_BUCKETS = 25;
export const bucketOf = (ms: number) => Math.min(HIST_BUCKETS - 1, Math.max(0, Math.ceil(Math.log2(Math.max(ms, 1)))));

function percentile(hist: readonly number[], q: number): number | null {
  const total = hist.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  let seen = 0;
  for (let i = 0; i < hist.length; i++) {
    seen += hist[i] ?? 0;
    if (seen >= q * total) return 2 ** i;
  }
  return 2 ** (hist.length - 1);
}

/** The last `minutes` minutes, oldest first, summed over workers (minutes without tasks are absent). */
export async function minuteHistory(db: Db, minutes = 60): Promise<TaskStatsMinute[]> {
  const since = new Date(Math.floor(Date.now() / 60_000) * 60_000 - (minutes - 1) * 60_000);
  const rows = await db.select().from(taskStatsMinute).where(and(gte(taskStatsMinute.minute, since))).orderBy(taskStatsMinute.minute);
  const byMinute = new Map<number, { succeeded: number; failed: number; retried: number; hist: number[] }>();
  for (const r of rows) {
    const key = r.minute.getTime();
    const acc = byMinute.get(key) ?? { succeeded: 0, failed: 0, retried: 0, hist: new Array<number>(HIST_BUCKETS).fill(0) };
    acc.succeeded += r.succeeded;
    acc.failed += r.failed;
    acc.retried += r.retried;
    r.runtimeHist.forEach((n, i) => (acc.hist[i] = (acc.hist[i] ?? 0) + n));
    byMinute.set(key, acc);
  }
  return [...byMinute].map(([t, a]) => ({
    minute: new Date(t),
    succeeded: a.succeeded,
    failed: a.failed,
    retried: a.retried,
    p50Ms: percentile(a.hist, 0.5),
    p95Ms: percentile(a.hist, 0.95),
    p99Ms: percentile(a.hist, 0.99),
  }));
}

/** Drop history older than a day and workers not seen for a day. */
export async function pruneStore(db: Db): Promise<void> {
  const dayAgo = new Date(Date.now() - 86_400_000);
  await db.delete(taskStatsMinute).where(sql`${taskStatsMinute.minute} < ${dayAgo}`);
  await db.delete(taskWorkers).where(sql`${taskWorkers.lastSeen} < ${dayAgo}`);
  await db.delete(taskCounters).where(sql`${taskCounters.updatedAt} < ${dayAgo}`);
}

/** One worker's additions to its running totals of a task name and outcome. */
export interface CounterSample {
  readonly name: string;
  readonly state: TaskState;
  readonly count: number;
  readonly runtimeMs: number;
  readonly hist: readonly number[];
}

export async function addCounters(db: Db, workerId: string, samples: readonly CounterSample[]): Promise<void> {
  if (samples.length === 0) return;
  await db
    .insert(taskCounters)
    .values(samples.map((s) => ({ workerId, name: s.name, state: s.state, count: s.count, runtimeSum: Math.round(s.runtimeMs), runtimeHist: [...s.hist] })))
    .onConflictDoUpdate({
      target: [taskCounters.workerId, taskCounters.name, taskCounters.state],
      set: {
        count: sql`${taskCounters.count} + excluded.count`,
        runtimeSum: sql`${taskCounters.runtimeSum} + excluded.runtime_ms_sum`,
        runtimeHist: sql`(SELECT array_agg(coalesce(a, 0) + coalesce(b, 0) ORDER BY i) FROM unnest(${taskCounters.runtimeHist}, excluded.runtime_hist) WITH ORDINALITY AS t(a, b, i))`,
        updatedAt: sql`now()`,
      },
    });
}

export interface CounterTotal {
  readonly name: string;
  readonly state: TaskState;
  readonly count: number;
  readonly runtimeMs: number;
  readonly hist: readonly number[];
}

/** The deployment's totals: every worker's counters summed. */
export async function counterTotals(db: Db): Promise<CounterTotal[]> {
  const rows = await db.select().from(taskCounters);
  const byKey = new Map<string, { name: string; state: TaskState; count: number; runtimeMs: number; hist: number[] }>();
  for (const r of rows) {
    const key = `${r.name}\0${r.state}`;
    const acc = byKey.get(key) ?? { name: r.name, state: r.state, count: 0, runtimeMs: 0, hist: new Array<number>(HIST_BUCKETS).fill(0) };
    acc.count += r.count;
    acc.runtimeMs += r.runtimeSum;
    r.runtimeHist.forEach((n, i) => (acc.hist[i] = (acc.hist[i] ?? 0) + n));
    byKey.set(key, acc);
  }
  return [...byKey.values()];
}
