/**
 * Task metrics, read from the engine when Prometheus scrapes (nothing polls between
 * scrapes): runs ended by task name and outcome with their runtimes — the running totals
 * every worker adds to the database with its heartbeat, summed, so any process answers for
 * the whole deployment — queue depth and workers online.
 *
 * Every process reads the same totals, so under `serve --workers N` these series are merged
 * with `max` (or `min` for engine_up), not summed.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { TaskMonitor } from '../../tasks/monitor.ts';
import type { CounterTotal } from '../../tasks/store.ts';
import type { QueueCounts, WorkerInfo } from '../../tasks/types.ts';

const COLLECT_TIMEOUT_MS = 2_000;
const QUEUE_STATES = ['waiting', 'prioritized', 'delayed', 'active'] as const;

function withTimeout<T>(promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('task engine did not answer')), COLLECT_TIMEOUT_MS))),
  ]).finally(() => clearTimeout(timer));
}

interface EngineSnapshot {
  readonly ok: boolean;
  readonly counts?: readonly QueueCounts[];
  readonly workers?: readonly WorkerInfo[];
  readonly totals?: readonly CounterTotal[];
}

async function readEngine(monitor: TaskMonitor, onError?: (err: unknown) => void): Promise<EngineSnapshot> {
  try {
    const [counts, workers, totals] = await withTimeout(Promise.all([monitor.queueCounts(), monitor.listWorkers(), monitor.counters()]));
    return { ok: true, counts, workers, totals };
  } catch (err) {
    onError?.(err);
    return { ok: false };
  }
}

/**
 * The workers' runtime histograms as a Prometheus histogram: their buckets are powers of two
 * of milliseconds (bucket i holds runs of up to 2^i ms), exported cumulatively in seconds.
 */
class RuntimeHistogram extends Histogram<'name' | 'state'> {
  totals: () => Promise<readonly CounterTotal[] | undefined> = async () => undefined;

  readonly #base: { name: string; help: string };

  constructor(config: { name: string; help: string; labelNames: readonly ('name' | 'state')[]; registers: Registry[] }) {
    super({ ...config, aggregator: 'max' });
    this.#base = { name: config.name, help: config.help };
  }

  // prom-client's registry writes a histogram's text through this method (not in its types),
  // and get() — the cluster's merge — goes through it too.
  async getForPromString() {
    const base = { ...this.#base, type: 'histogram' as const, aggregator: 'max' as const };
    const values: { labels: Record<string, string | number>; sharedLabels: Record<string, string>; value: number; metricName: string }[] = [];
    const add = (labels: Record<string, string | number>, value: number, suffix: string) => values.push({ labels, sharedLabels: {}, value, metricName: `${base.name}${suffix}` });
    for (const t of (await this.totals()) ?? []) {
      const labels = { name: t.name, state: t.state };
      let cumulative = 0;
      t.hist.forEach((n, i) => {
        cumulative += n;
        add({ ...labels, le: 2 ** i / 1000 }, cumulative, '_bucket');
      });
      add({ ...labels, le: '+Inf' }, t.count, '_bucket');
      add(labels, t.runtimeMs / 1000, '_sum');
      add(labels, t.count, '_count');
    }
    return { ...base, values };
  }
}

export interface TaskMetricsOptions {
  readonly onError?: (err: unknown) => void;
}

export function registerTaskMetrics(registry: Registry, monitor: TaskMonitor, opts: TaskMetricsOptions = {}): void {
  // One read of the engine per scrape, shared by the series below (prom-client collects
  // them concurrently); a failed read exports engine_up 0 instead of failing the scrape.
  let inflight: Promise<EngineSnapshot> | undefined;
  const snapshot = () => (inflight ??= readEngine(monitor, opts.onError).finally(() => (inflight = undefined)));
  new Counter({
    name: 'conveyor_tasks_total',
    aggregator: 'max',
    help: 'Task runs ended, by task name and outcome (SUCCESS, FAILURE, RETRY: failed and retried, REVOKED while running), over every worker of the deployment',
    labelNames: ['name', 'state'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const t of (await snapshot()).totals ?? []) this.inc({ name: t.name, state: t.state }, t.count);
    },
  });
  const runtime = new RuntimeHistogram({
    name: 'conveyor_task_runtime_seconds',
    help: 'Task run time from start to end, by task name and outcome, over every worker of the deployment',
    labelNames: ['name', 'state'] as const,
    registers: [registry],
  });
  runtime.totals = async () => (await snapshot()).totals;
  new Gauge({
    name: 'conveyor_task_engine_up',
    aggregator: 'min',
    help: '1 when the task engine answered this scrape, else 0',
    registers: [registry],
    async collect() {
      this.set((await snapshot()).ok ? 1 : 0);
    },
  });
  new Gauge({
    name: 'conveyor_queue_jobs',
    aggregator: 'max',
    help: 'Jobs the broker holds in each queue by state (waiting is the queue depth)',
    labelNames: ['queue', 'state'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const c of (await snapshot()).counts ?? []) {
        for (const state of QUEUE_STATES) this.set({ queue: c.queue, state }, c[state]);
      }
    },
  });
  new Gauge({
    name: 'conveyor_workers_online',
    aggregator: 'max',
    help: 'Workers whose last heartbeat is recent',
    registers: [registry],
    async collect() {
      this.reset();
      const { workers } = await snapshot();
      if (workers) this.set(workers.filter((w) => w.online).length);
    },
  });
}
