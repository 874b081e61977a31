/**
 * Per-minute counts and a runtime histogram, kept in memory by each worker and added to
 * app.task_stats_minute in one statement per flush (with the heartbeat): nothing is
 * written per task.
 */
import type { Logger } from 'pino';
import type { Db } from '../db/client.ts';
import { addMinuteStats, bucketOf, HIST_BUCKETS, type MinuteSample } from './store.ts';

interface Acc {
  succeeded: number;
  failed: number;
  retried: number;
  hist: number[];
}

export class StatsRecorder {
  readonly #db: Db;
  readonly #workerId: string;
  readonly #logger: Logger;
  #minutes = new Map<number, Acc>();

  constructor(db: Db, workerId: string, logger: Logger) {
    this.#db = db;
    this.#workerId = workerId;
    this.#logger = logger;
  }

  #acc(): Acc {
    const minute = Math.floor(Date.now() / 60_000) * 60_000;
    let acc = this.#minutes.get(minute);
    if (!acc) {
      acc = { succeeded: 0, failed: 0, retried: 0, hist: new Array<number>(HIST_BUCKETS).fill(0) };
      this.#minutes.set(minute, acc);
    }
    return acc;
  }

  succeeded(runtimeMs: number): void {
    const acc = this.#acc();
    acc.succeeded++;
    acc.hist[bucketOf(runtimeMs)]!++;
  }

  failed(runtimeMs: number): void {
    const acc = this.#acc();
    acc.failed++;
    acc.hist[bucketOf(runtimeMs)]!++;
  }

  retried(): void {
    this.#acc().retried++;
  }

  /** Write what accumulated since the last flush; on failure it is kept for the next one. */
  async flush(): Promise<void> {
    if (this.#minutes.size === 0) return;
    const pending = this.#minutes;
    this.#minutes = new Map();
    const samples: MinuteSample[] = [...pending].map(([t, a]) => ({ minute: new Date(t), ...a }));
    try {
      await addMinuteStats(this.#db, this.#workerId, samples);
    } catch (err) {
      this.#logger.warn({ err }, 'could not record task history; keeping it for the next flush');
      for (const [t, a] of pending) {
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
  }
}
