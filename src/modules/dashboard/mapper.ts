/** Engine records → the dashboard API's JSON shapes (snake_case, ISO times, like the public API). */
import type { QueueCounts, TaskRecord, TaskStatsMinute, WorkerInfo, WorkflowRecord } from '../../tasks/types.ts';
import type { MinuteJson, MonitorQueue, MonitorTask, MonitorWorker, MonitorWorkflow } from './schemas.ts';

const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);

export function toMonitorTask(t: TaskRecord): MonitorTask {
  const ran = t.startedAt != null || t.finishedAt != null;
  return {
    task_id: t.id,
    name: t.name,
    queue: t.queue,
    state: t.state,
    args: t.args ?? null,
    ...(t.result !== undefined ? { result: t.result } : {}),
    ...(t.error !== undefined ? { error: t.error } : {}),
    ...(t.traceback ? { traceback: t.traceback } : {}),
    retries: t.retries,
    attempts: ran ? t.retries + 1 : t.retries,
    created_at: t.createdAt.toISOString(),
    started_at: iso(t.startedAt),
    finished_at: iso(t.finishedAt),
    runtime_ms: t.runtimeMs ?? null,
    workflow_id: t.workflowId ?? null,
    waiting: t.waiting ?? null,
    origin: t.celery ? 'celery' : 'conveyor',
    celery_worker: t.celery?.worker ?? null,
    celery_source: t.celery?.source ?? (t.origin === 'celery' ? 'message' : null),
  };
}

/** A workflow's tasks as a graph, each in the column of its longest path from a first step. */
export function toMonitorWorkflow(w: WorkflowRecord): MonitorWorkflow {
  const level = new Map<string, number>();
  // Tasks are in document order, so a task's dependencies come before it.
  for (const t of w.tasks) level.set(t.id, Math.max(-1, ...(t.deps ?? []).map((d) => level.get(d) ?? 0)) + 1);
  return {
    workflow_id: w.id,
    state: w.state,
    created_at: w.createdAt.toISOString(),
    finished_at: iso(w.finishedAt),
    ...(w.result !== undefined ? { result: w.result } : {}),
    nodes: w.tasks.map((t) => ({
      task_id: t.id,
      name: t.name,
      state: t.state,
      deps: [...(t.deps ?? [])],
      level: level.get(t.id) ?? 0,
      waiting: t.waiting ?? null,
      ...(t.error !== undefined ? { error: t.error } : {}),
    })),
  };
}

export function toMonitorWorker(w: WorkerInfo, now = Date.now()): MonitorWorker {
  return {
    id: w.id,
    host: w.host,
    pid: w.pid,
    queues: [...w.queues],
    concurrency: w.concurrency,
    active: w.active,
    processed: w.processed,
    failed: w.failed,
    memory_bytes: w.memoryBytes,
    started_at: w.startedAt.toISOString(),
    last_seen: w.lastSeen.toISOString(),
    uptime_s: Math.max(0, Math.round(((w.online ? now : w.lastSeen.getTime()) - w.startedAt.getTime()) / 1000)),
    online: w.online,
    kind: w.celery ? 'celery' : 'conveyor',
    loadavg: w.celery ? [...w.celery.loadavg] : null,
    heartbeat_s: w.celery?.freq ?? null,
  };
}

export function toMonitorQueue(q: QueueCounts): MonitorQueue {
  return {
    queue: q.queue,
    waiting: q.waiting,
    active: q.active,
    delayed: q.delayed,
    prioritized: q.prioritized,
    paused: q.paused,
  };
}

export function toMinuteJson(m: TaskStatsMinute): MinuteJson {
  return {
    minute: m.minute.toISOString(),
    succeeded: m.succeeded,
    failed: m.failed,
    retried: m.retried,
    p50_ms: m.p50Ms,
    p95_ms: m.p95Ms,
    p99_ms: m.p99Ms,
  };
}
