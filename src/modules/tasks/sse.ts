/**
 * `GET /api/tasks/{id}/events`: server-sent events, one `state` event per state change —
 * the current state first, the stream closed after a final state. Committed changes
 * (LISTEN/NOTIFY) nudge a re-read; a slow poll covers any nudge that is missed.
 */
import type { FastifyReply } from 'fastify';
import { openEventStream } from '../../http/sse.ts';
import { finishedStates, type TaskClient, type TaskRecord } from '../../tasks/index.ts';
import { toTask } from './service.ts';

export interface SseOptions {
  /** Comment line period in ms. Default 15_000. */
  readonly heartbeatMs?: number;
  /** Fallback re-read period in ms. Default 1_000. */
  readonly pollMs?: number;
}

/** Starts the stream; `end` ends it (the server calls it when shutting down). */
export function streamTaskEvents(reply: FastifyReply, tasks: TaskClient, first: TaskRecord, opts: SseOptions = {}): { end(): void; onClose(listener: () => void): void } {
  const stream = openEventStream(reply, opts.heartbeatMs === undefined ? {} : { keepaliveMs: opts.heartbeatMs });
  let last = '';
  let seq = 0;
  let reading = false;
  let again = false;

  const send = (t: TaskRecord) => {
    const key = `${t.state}:${t.retries}`;
    if (key === last) return;
    last = key;
    stream.send('state', toTask(t), ++seq);
    if (finishedStates.has(t.state)) stream.close();
  };
  const refresh = async () => {
    if (stream.closed) return;
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
          stream.send('gone', {});
          stream.close();
          return;
        }
        send(t);
      } while (again && !stream.closed);
    } catch {
      // The database hiccuped; the next nudge or poll tries again.
    } finally {
      reading = false;
    }
  };

  const unwatch = tasks.watch(first.id, () => void refresh());
  const poll = setInterval(() => void refresh(), opts.pollMs ?? 1_000);
  stream.onClose(() => {
    unwatch();
    clearInterval(poll);
  });
  send(first);
  // A change between the first read and the watch would otherwise wait for the poll.
  void refresh();
  return { end: () => stream.close(), onClose: (listener) => stream.onClose(listener) };
}
