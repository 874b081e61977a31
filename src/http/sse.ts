/**
 * Server-sent events: the one place that writes an event stream's headers, frames and
 * keepalives (the task events of /api/tasks/{id}/events and the dashboard's live feed).
 * The reply is hijacked, so Fastify's serialisation and hooks no longer apply: the headers
 * hooks set (security headers) and the request id are written here, and a client that stops reading is dropped instead of buffered forever.
 */
import type { FastifyReply } from 'fastify';

export interface EventStreamOptions {
  /** Period of the comment line that keeps proxies from timing the stream out, in ms. Default 15_000. */
  readonly keepaliveMs?: number;
  /** The reconnection delay a browser's EventSource should use, sent first, in ms. Default: none sent. */
  readonly retryMs?: number;
  /** A client with more unsent data than this is disconnected (an EventSource reconnects). Default 1 MiB. */
  readonly maxBufferedBytes?: number;
}

export interface EventStream {
  /** Send one event; `data` goes out as JSON. */
  send(event: string, data: unknown, id?: number): void;
  /** Send a frame made by `sseFrame` (one string for many clients). */
  write(frame: string): void;
  /** End the response; idempotent. */
  close(): void;
  /** Called once, when the stream ends for any reason (close(), the client leaving, a slow client dropped). */
  onClose(listener: () => void): void;
  readonly closed: boolean;
}

/** One event as the bytes on the wire. */
export function sseFrame(event: string, data: unknown, id?: number): string {
  return `${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

export function openEventStream(reply: FastifyReply, opts: EventStreamOptions = {}): EventStream {
  const res = reply.raw;
  const maxBuffered = opts.maxBufferedBytes ?? 1024 * 1024;
  // Headers set by hooks before the hijack (the security headers) still go out.
  const set = Object.entries(reply.getHeaders()).filter((e): e is [string, string | number | string[]] => e[1] !== undefined);
  reply.hijack();
  res.writeHead(200, {
    ...Object.fromEntries(set),
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no', // a buffering proxy (nginx) would hold every event back
    'x-request-id': String(reply.request.id),
  });
  if (opts.retryMs !== undefined) res.write(`retry: ${opts.retryMs}\n\n`);

  let closed = false;
  const listeners: (() => void)[] = [];
  const ended = () => {
    if (closed) return;
    closed = true;
    clearInterval(keepalive);
    for (const l of listeners.splice(0)) l();
  };
  const write = (chunk: string) => {
    if (closed) return;
    if (res.writableLength > maxBuffered) return void res.destroy();
    res.write(chunk);
  };
  const keepalive = setInterval(() => write(': keep-alive\n\n'), opts.keepaliveMs ?? 15_000);
  res.on('close', ended);

  return {
    send: (event, data, id) => write(sseFrame(event, data, id)),
    write,
    close() {
      if (closed) return;
      ended();
      res.end();
    },
    onClose(listener) {
      if (closed) listener();
      else listeners.push(listener);
    },
    get closed() {
      return closed;
    },
  };
}
