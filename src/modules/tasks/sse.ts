/**
 * `GET /api/tasks/{id}/events`: server-sent events, one `state` event per state change —
 * the current state first, the stream closed after a final state. Broker events nudge a
 * re-read; a slow poll covers any nudge that is missed; comments keep proxies from
 * timing the stream out.
 */
import type { FastifyReply } from 'fastify';
import { finishedStates, type TaskClient, type TaskRecord } from '../../tasks/index.ts';
import { toTask } from './service.ts';

export interface SseOptions {
  /** Comment line period in ms. Default 15_000. */
  readonly heartbeatMs?: number;
  /** Fallback re-read period in ms. Default 1_000. */
  readonly pollMs?: number;
}

/** Starts the stream; returns a function that ends it (the server calls it when shutting down). */
export function streamTaskEvents(reply: FastifyReply, tasks: TaskClient, first: TaskRecord, opts: SseOptions = {}): () => void {
  const res = reply.raw;
  reply.hijack();
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
    'x-request-id': String(reply.request.id),
  });
  let last = '';
  let seq = 0;
  let closed = false;
  let reading = false;
  let again = false;

  const send = (t: TaskRecord) => {
    const key = `${t.state}:${t.retries}`;
    if (key === last) return;
    last = key;
    res.write(`id: ${++seq}\nevent: state\ndata: ${JSON.stringify(toTask(t))}\n\n`);
    if (finishedStates.has(t.state)) close();
  };
  const refresh = async () => {
    if (closed) return;
    if (reading) {
      again = true;
      return;
    }
    reading = true;
    try {
      do {
        again = false;
        const t = await tasks.getTask(first.id);
        if (!t) {
          res.write(`event: gone\ndata: {}\n\n`);
          close();
          return;
        }
        send(t);
      } while (again && !closed);
    } catch {
      // The broker hiccuped; the next nudge or poll tries again.
    } finally {
      reading = false;
    }
  };

  const unwatch = tasks.watch(first.id, () => void refresh());
  const poll = setInterval(() => void refresh(), opts.pollMs ?? 1_000);
  const beat = setInterval(() => res.write(`: keep-alive\n\n`), opts.heartbeatMs ?? 15_000);
  function close() {
    if (closed) return;
    closed = true;
    unwatch();
    clearInterval(poll);
    clearInterval(beat);
    res.end();
  }
  res.on('close', close);
  send(first);
  // A change between the first read and the watch would otherwise wait for the poll.
  void refresh();
  return close;
}
