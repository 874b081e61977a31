/**
 * The dashboard's live feed (`GET /dashboard/api/events`, server-sent events): task state
 * changes from the engine's subscribe(), and every few seconds a snapshot of workers,
 * queues and the last hour's history. One engine subscription and one snapshot timer
 * serve every connected browser, and both exist only while someone is watching.
 */
import type { FastifyReply } from 'fastify';
import type { TaskEvent } from '../../tasks/types.ts';
import { toMinuteJson, toMonitorQueue, toMonitorWorker } from './mapper.ts';
import type { TaskMonitor } from './source.ts';

/** How often connected browsers get workers, queues and history. */
export const SNAPSHOT_MS = 2_000;
/** A browser that has this much unsent data is too slow: it is dropped and reconnects. */
const MAX_BUFFERED = 1024 * 1024;
const KEEPALIVE_MS = 15_000;

export interface LiveHub {
  attach(reply: FastifyReply): void;
  close(): void;
  readonly clients: number;
}

function frame(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

function taskFrame(e: TaskEvent): string {
  return frame('task', {
    task_id: e.taskId,
    name: e.name,
    state: e.state,
    at: e.at.toISOString(),
    retries: e.retries,
    ...(e.error !== undefined ? { error: e.error } : {}),
  });
}

export function createLiveHub(monitor: TaskMonitor, onError: (err: unknown) => void): LiveHub {
  const clients = new Set<FastifyReply>();
  let unsubscribe: (() => void) | undefined;
  let timer: NodeJS.Timeout | undefined;
  let keepalive: NodeJS.Timeout | undefined;
  let last: string | undefined;

  const send = (reply: FastifyReply, chunk: string) => {
    const raw = reply.raw;
    if (raw.writableLength > MAX_BUFFERED) return void raw.destroy();
    raw.write(chunk);
  };
  const broadcast = (chunk: string) => clients.forEach((c) => send(c, chunk));

  const snapshot = async () => {
    try {
      const [workers, queues, history, unserved] = await Promise.all([monitor.listWorkers(), monitor.queueCounts(), monitor.history(60), monitor.unservedQueues()]);
      const now = Date.now();
      const next = frame('snapshot', {
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
      broadcast(frame('unavailable', { message: 'The task engine is not answering' }));
    }
  };

  const start = () => {
    unsubscribe = monitor.subscribe((e) => broadcast(taskFrame(e)));
    timer = setInterval(() => void snapshot(), SNAPSHOT_MS);
    keepalive = setInterval(() => broadcast(': keepalive\n\n'), KEEPALIVE_MS);
    void snapshot();
  };
  const stop = () => {
    unsubscribe?.();
    unsubscribe = undefined;
    clearInterval(timer);
    clearInterval(keepalive);
    last = undefined;
  };

  return {
    get clients() {
      return clients.size;
    },
    attach(reply) {
      reply.hijack();
      reply.raw.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no', // nginx: do not buffer the stream
        'x-request-id': reply.request.id,
      });
      reply.raw.write('retry: 2000\n\n');
      clients.add(reply);
      reply.raw.on('close', () => {
        clients.delete(reply);
        if (clients.size === 0) stop();
      });
      if (clients.size === 1) start();
      else if (last) send(reply, last);
    },
    close() {
      for (const c of clients) c.raw.end();
      clients.clear();
      stop();
    },
  };
}
