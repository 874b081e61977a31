/**
 * Task metrics, Flower-style: counters fed by the engine's live events (state changes
 * seen by this process), and gauges read from the engine when Prometheus scrapes
 * (queue depth, workers online), so nothing polls between scrapes.
 *
 * Every serve process sees every task event and reads the same engine, so under
 * `serve --workers N` these series are the same in each process: merged with `max` (or `min`
 * for engine_up), not summed.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { TaskEvent, WorkerInfo } from '../../tasks/types.ts';
import type { QueueCounts, TaskMonitor } from '../dashboard/source.ts';

/** Tasks whose start we remember to time them; old entries fall out first. */
const MAX_TRACKED = 50_000;
const COLLECT_TIMEOUT_MS = 2_000;
const QUEUE_STATES = ['waiting', 'prioritized', 'delayed', 'active', 'completed', 'failed'] as const;

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
}

async function readEngine(monitor: TaskMonitor, onError?: (err: unknown) => void): Promise<EngineSnapshot> {
  try {
    const [counts, workers] = await withTimeout(Promise.all([monitor.queueCounts(), monitor.listWorkers()]));
    return { ok: true, counts, workers };
  } catch (err) {
    onError?.(err);
    return { ok: false };
  }
}

export interface TaskMetricsOptions {
  readonly onError?: (err: unknown) => void;
}

/** Registers the task series; returns a function that stops listening to events. */
export function registerTaskMetrics(registry: Registry, monitor: TaskMonitor, opts: TaskMetricsOptions = {}): () => void {
  const events = new Counter({
    name: 'conveyor_task_events_total',
    aggregator: 'max',
    help: 'Task state changes by task name and new state',
    labelNames: ['name', 'state'] as const,
    registers: [registry],
  });
  const retries = new Counter({
    name: 'conveyor_task_retries_total',
    aggregator: 'max',
    help: 'Task retries by task name',
    labelNames: ['name'] as const,
    registers: [registry],
  });
  const runtime = new Histogram({
    name: 'conveyor_task_runtime_seconds',
    aggregator: 'max',
    help: 'Task runtime from start to finish, by task name and final state',
    labelNames: ['name', 'state'] as const,
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [registry],
  });
  // One read of the engine per scrape, shared by the gauges below (prom-client collects
  // them concurrently); a failed read exports engine_up 0 instead of failing the scrape.
  let inflight: Promise<EngineSnapshot> | undefined;
  const snapshot = () => (inflight ??= readEngine(monitor, opts.onError).finally(() => (inflight = undefined)));
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
    help: 'Jobs in each queue by state (waiting is the queue depth)',
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

  const startedAt = new Map<string, number>();
  const onEvent = (event: TaskEvent) => {
    events.inc({ name: event.name, state: event.state });
    if (event.state === 'RETRY') retries.inc({ name: event.name });
    if (event.state === 'STARTED') {
      if (startedAt.size >= MAX_TRACKED) startedAt.delete(startedAt.keys().next().value!);
      startedAt.set(event.taskId, event.at.getTime());
      return;
    }
    if (event.state === 'SUCCESS' || event.state === 'FAILURE') {
      const reported = (event as TaskEvent & { runtimeMs?: number | null }).runtimeMs;
      const began = startedAt.get(event.taskId);
      startedAt.delete(event.taskId);
      const ms = typeof reported === 'number' ? reported : began === undefined ? undefined : event.at.getTime() - began;
      if (ms !== undefined && ms >= 0) runtime.observe({ name: event.name, state: event.state }, ms / 1000);
    } else if (event.state === 'REVOKED' || event.state === 'RETRY') {
      startedAt.delete(event.taskId);
    }
  };
  return monitor.subscribe(onEvent);
}
