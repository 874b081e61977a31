/**
 * A stand-in for the task engine's monitor API, for tests of the monitor's own logic
 * (metrics mapping, dashboard rendering). Every call not set up here fails loudly.
 */
import type { TaskMonitor } from '../../src/tasks/monitor.ts';
import type { ListTasksQuery, QueueCounts, TaskPage, TaskStatsMinute } from '../../src/tasks/types.ts';
import type { CounterTotal } from '../../src/tasks/store.ts';
import type { TaskEvent, TaskRecord, WorkerInfo } from '../../src/tasks/types.ts';

export interface FakeMonitor extends TaskMonitor {
  emit(event: TaskEvent): void;
  readonly tasks: Map<string, TaskRecord>;
  workers: WorkerInfo[];
  counts: QueueCounts[];
  stats: TaskStatsMinute[];
  totals: CounterTotal[];
  readonly listeners: Set<(e: TaskEvent) => void>;
}

export function fakeMonitor(): FakeMonitor {
  const listeners = new Set<(e: TaskEvent) => void>();
  const tasks = new Map<string, TaskRecord>();
  const monitor: FakeMonitor = {
    tasks,
    listeners,
    workers: [],
    counts: [],
    stats: [],
    totals: [],
    emit: (event) => listeners.forEach((l) => l(event)),
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async listTasks(q: ListTasksQuery): Promise<TaskPage> {
      const all = [...tasks.values()].filter((t) => (!q.state || t.state === q.state) && (!q.name || t.name === q.name));
      return { data: all.slice(0, q.limit ?? 50), next: null };
    },
    async getTask(id) {
      return tasks.get(id);
    },
    async getWorkflow() {
      return undefined;
    },
    async revoke(id) {
      const t = tasks.get(id);
      if (!t) throw new Error(`fake monitor: no task ${id}`);
      const revoked = { ...t, state: 'REVOKED' as const };
      tasks.set(id, revoked);
      return revoked;
    },
    async retry(id) {
      const t = tasks.get(id);
      if (!t) throw new Error(`fake monitor: no task ${id}`);
      return t;
    },
    async listWorkers() {
      return monitor.workers;
    },
    async unservedQueues() {
      return [];
    },
    async counters() {
      return monitor.totals;
    },
    async queueCounts() {
      return monitor.counts;
    },
    async history() {
      return monitor.stats;
    },
  };
  return monitor;
}
