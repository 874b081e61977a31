/**
 * Queues no online worker consumes: their tasks would sit in PENDING with no sign why (a
 * `serve --no-worker` and no `conveyor worker`, or workers started with other `--queues`).
 */
import type { WorkerInfo } from './types.ts';

export function unservedQueues(queues: readonly string[], workers: readonly WorkerInfo[]): string[] {
  const served = new Set(workers.filter((w) => w.online).flatMap((w) => w.queues));
  return queues.filter((q) => !served.has(q));
}

/** The sentence /readyz, the dashboard and the log use. */
export function describeUnserved(queues: readonly string[]): string {
  const list = queues.map((q) => `"${q}"`).join(', ');
  return `no worker consumes queue${queues.length > 1 ? 's' : ''} ${list}: tasks sent there wait until one runs (conveyor worker, or serve without --no-worker)`;
}

export interface CoverageWatchOptions {
  readonly queues: readonly string[];
  readonly listWorkers: () => Promise<readonly WorkerInfo[]>;
  readonly logger: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void };
  /** Workers send their first heartbeat within seconds of starting: wait this long first. Default 10 s. */
  readonly graceMs?: number;
  /** Default 30 s. */
  readonly everyMs?: number;
}

/** Log a warning when a queue has no worker (and a line when one arrives); returns a stop function. */
export function watchCoverage(opts: CoverageWatchOptions): () => void {
  let last = '';
  const check = async () => {
    try {
      const unserved = unservedQueues(opts.queues, await opts.listWorkers());
      const key = unserved.join(',');
      if (key === last) return;
      if (unserved.length) opts.logger.warn({ queues: unserved }, describeUnserved(unserved));
      else if (last) opts.logger.info({ queues: opts.queues }, 'every queue has a worker again');
      last = key;
    } catch {
      /* the database is down: readiness reports that */
    }
  };
  let every: NodeJS.Timeout | undefined;
  const first = setTimeout(() => {
    void check();
    every = setInterval(() => void check(), opts.everyMs ?? 30_000);
    every.unref();
  }, opts.graceMs ?? 10_000);
  first.unref();
  return () => {
    clearTimeout(first);
    clearInterval(every);
  };
}
