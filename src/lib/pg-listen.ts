/**
 * PostgreSQL LISTEN on one dedicated connection per process, shared by every subscriber of
 * every channel. Connected when the first subscriber arrives; reconnected with backoff when
 * the connection drops (`onReconnect` tells subscribers they may have missed notifications,
 * so they can catch up by reading).
 */
import pg from 'pg';

export interface PgListener {
  /** Calls `handler` with each notification's payload on `channel`; returns the unsubscribe function. */
  on(channel: string, handler: (payload: string) => void): () => void;
  /** Called after a reconnection (notifications sent while it was down are lost). */
  onReconnect(handler: () => void): () => void;
  close(): Promise<void>;
}

export interface PgListenerOptions {
  readonly url: string;
  readonly applicationName?: string;
  readonly onError?: (err: Error) => void;
}

export function createPgListener(opts: PgListenerOptions): PgListener {
  const handlers = new Map<string, Set<(payload: string) => void>>();
  const reconnected = new Set<() => void>();
  let client: pg.Client | undefined;
  let connecting: Promise<void> | undefined;
  let closed = false;
  let failures = 0;
  let everConnected = false;
  let retry: NodeJS.Timeout | undefined;

  const quote = (channel: string) => `"${channel.replaceAll('"', '""')}"`;

  const connect = (): Promise<void> =>
    (connecting ??= (async () => {
      const c = new pg.Client({ connectionString: opts.url, application_name: opts.applicationName ?? 'conveyor-listen', keepAlive: true });
      c.on('notification', (n) => {
        for (const h of handlers.get(n.channel) ?? []) h(n.payload ?? '');
      });
      c.on('error', (err) => {
        opts.onError?.(err);
        lost(c);
      });
      c.on('end', () => lost(c));
      try {
        await c.connect();
        for (const channel of handlers.keys()) await c.query(`LISTEN ${quote(channel)}`);
      } catch (err) {
        opts.onError?.(err as Error);
        void c.end().catch(() => undefined);
        connecting = undefined;
        schedule();
        return;
      }
      if (closed) return void (await c.end().catch(() => undefined));
      const again = everConnected;
      everConnected = true;
      client = c;
      failures = 0;
      if (again) for (const h of reconnected) h();
    })());

  function lost(c: pg.Client) {
    if (client !== c) return;
    client = undefined;
    connecting = undefined;
    schedule();
  }

  function schedule() {
    if (closed || retry || handlers.size === 0) return;
    const delay = Math.min(5_000, 100 * 2 ** failures++);
    retry = setTimeout(() => {
      retry = undefined;
      void connect();
    }, delay);
    retry.unref();
  }

  return {
    on(channel, handler) {
      let set = handlers.get(channel);
      if (!set) {
        handlers.set(channel, (set = new Set()));
        if (client) void client.query(`LISTEN ${quote(channel)}`).catch((err: Error) => opts.onError?.(err));
      }
      set.add(handler);
      if (!client && !closed) void connect();
      return () => {
        set.delete(handler);
      };
    },
    onReconnect(handler) {
      reconnected.add(handler);
      return () => reconnected.delete(handler);
    },
    async close() {
      closed = true;
      clearTimeout(retry);
      await connecting?.catch(() => undefined);
      const c = client;
      client = undefined;
      await c?.end().catch(() => undefined);
    },
  };
}
