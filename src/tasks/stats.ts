/**
 * What a worker counts in memory and adds to the database with its heartbeat (nothing is
 * written per task): the per-minute history of the dashboard's charts
 * (app.task_stats_minute) and the running totals per task name and outcome behind /metrics
 * (app.task_counters).
 */
import type { Logger } from 'pino';
import type { Db } from '../db/client.ts';
import { addCounters, addMinuteStats, bucketOf, HIST_BUCKETS, type CounterSample, type MinuteSample } from './store.ts';
import type { TaskState } from './types.ts';

interface Acc {
  succeeded: number;
  failed: number;
  retried: number;
  hist: number[];
}

interface CounterAcc {
  count: number;
  runtimeMs: number;
  hist: number[];
}

const emptyHist = () => new Array<number>(HIST_BUCKETS).fill(0);

export class StatsRecorder {
  readonly #db: Db;
  readonly #workerId: string;
  readonly #logger: Logger;
  #minutes = new Map<number, Acc>();
  #counters = new Map<string, CounterAcc & { name: string; state: TaskState }>();

  constructor(db: Db, workerId: string, logger: Logger) {
    this.#db = db;
    this.#workerId = workerId;
    this.#logger = logger;
  }

  #acc(): Acc {
    const minute = Math.floor(Date.now() / 60_000) * 60_000;
    let acc = this.#minutes.get(minute);
    if (!acc) this.#minutes.set(minute, (acc = { succeeded: 0, failed: 0, retried: 0, hist: emptyHist() }));
    return acc;
  }

  /** A run ended: SUCCESS, FAILURE, RETRY (it will run again) or REVOKED (while it ran). */
  ended(name: string, state: TaskState, runtimeMs: number): void {
    const acc = this.#acc();
    if (state === 'SUCCESS') acc.succeeded++;
    else if (state === 'FAILURE') acc.failed++;
    else if (state === 'RETRY') acc.retried++;
    if (state === 'SUCCESS' || state === 'FAILURE') acc.hist[bucketOf(runtimeMs)]!++;
    const key = `${name}\0${state}`;
    let c = this.#counters.get(key);
    if (!c) this.#counters.set(key, (c = { name, state, count: 0, runtimeMs: 0, hist: emptyHist() }));
    c.count++;
    c.runtimeMs += runtimeMs;
    c.hist[bucketOf(runtimeMs)]!++;
  }

  /** Write what accumulated since the last flush; on failure it is kept for the next one. */
  async flush(): Promise<void> {
    const minutes = this.#minutes;
    const counters = this.#counters;
    if (minutes.size === 0 && counters.size === 0) return;
    this.#minutes = new Map();
    this.#counters = new Map();
    const samples: MinuteSample[] = [...minutes].map(([t, a]) => ({ minute: new Date(t), ...a }));
    const totals: CounterSample[] = [...counters.values()];
    try {
      await addMinuteStats(this.#db, this.#workerId, samples);
    } catch (err) {
      this.#logger.warn({ err }, 'could not record task history; keeping it for the next flush');
      for (const [t, a] of minutes) {
        const cur = this.#minutes.get(t);
        if (!cur) this.#minutes.set(t, a);
        else {
          cur.succeeded += a.succeeded;
          cur.failed += a.failed;
          cur.retried += a.retried;
          a.hist.forEach((n, i) => (cur.hist[i]! += n));
        }
      }
    }
    try {
      await addCounters(this.#db, this.#workerId, totals);
    } catch (err) {
      this.#logger.warn({ err }, 'could not record task counters; keeping them for the next flush');
      for (const [key, a] of counters) {
        const cur = this.#counters.get(key);
        if (!cur) this.#counters.set(key, a);
        else {
          cur.count += a.count;
          cur.runtimeMs += a.runtimeMs;
          a.hist.forEach((n, i) => (cur.hist[i]! += n));
        }
      }
    }
  }
}
