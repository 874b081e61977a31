/**
 * The dashboard's live feed (`GET /dashboard/api/events`, server-sent events): task state
 * changes from the engine's subscribe(), and every few seconds a snapshot of workers,
 * queues and the last hour's history. One engine subscription and one snapshot timer
 * serve every connected browser, and both exist only while someone is watching.
 */
import type { FastifyReply } from 'fastify';
import { openEventStream, sseFrame, type EventStream } from '../../http/sse.ts';
import type { TaskMonitor } from '../../tasks/monitor.ts';
import type { TaskEvent } from '../../tasks/types.ts';
import { toMinuteJson, toMonitorQueue, toMonitorWorker } from './mapper.ts';

/** How often connected browsers get workers, queues and history. */
export const SNAPSHOT_MS = 2_000;

export interface LiveHub {
  attach(reply: FastifyReply): void;
  close(): void;
  readonly clients: number;
}

function taskFrame(e: TaskEvent): string {
  return sseFrame('task', {
    task_id: e.taskId,
    name: e.name,
    state: e.state,
    at: e.at.toISOString(),
    retries: e.retries,
    ...(e.error !== undefined ? { error: e.error } : {}),
  });
}

export function createLiveHub(monitor: TaskMonitor, onError: (err: unknown) => void): LiveHub {
  const clients = new Set<EventStream>();
  let unsubscribe: (() => void) | undefined;
  let timer: NodeJS.Timeout | undefined;
  let last: string | undefined;

  const broadcast = (frame: string) => clients.forEach((c) => c.write(frame));

  const snapshot = async () => {
    try {
      const [workers, queues, history, unserved] = await Promise.all([monitor.listWorkers(), monitor.queueCounts(), monitor.history(60), monitor.unservedQueues()]);
      const now = Date.now();
      const next = sseFrame('snapshot', {
        workers: workers.map((w) => toMonitorWorker(w, now)),
        unserved_queues: unserved,
        queues: queues.map(toMonitorQueue),
        history: history.map(toMinuteJson),
      });
      if (next === last) return; // an idle system sends nothing new
      last = next;
      broadcast(next);
    } catch (err) {
      onError(err);
      last = undefined; // the next good snapshot must go out, even if unchanged
      broadcast(sseFrame('unavailable', { message: 'The task engine is not answering' }));
    }
  };

  const start = () => {
    unsubscribe = monitor.subscribe((e) => broadcast(taskFrame(e)));
    timer = setInterval(() => void snapshot(), SNAPSHOT_MS);
    void snapshot();
  };
  const stop = () => {
    unsubscribe?.();
    unsubscribe = undefined;
    clearInterval(timer);
    last = undefined;
  };

  return {
    get clients() {
      return clients.size;
    },
    attach(reply) {
      const stream = openEventStream(reply, { retryMs: 2_000 });
      clients.add(stream);
      stream.onClose(() => {
        clients.delete(stream);
        if (clients.size === 0) stop();
      });
      if (clients.size === 1) start();
      else if (last) stream.write(last);
    },
    close() {
      for (const c of [...clients]) c.close();
      clients.clear();
      stop();
    },
  };
}
