/** Embedded mode: PGlite in DATA_DIR, served on a local socket, owned by one process. */
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { EmbeddedMessage } from './server-thread.ts';

export interface EmbeddedServer {
  /** A `pg` connection string reaching the embedded database through its socket. */
  readonly url: string;
  readonly socketDir: string;
  stop(): Promise<void>;
}

const SOCKET_NAME = '.s.PGSQL.5432';
// sun_path is 108 bytes on Linux; keep a margin.
const MAX_SOCKET_PATH = 100;

/** Where the socket goes: inside DATA_DIR, or a per-folder temp dir when that path is too long for a Unix socket. */
export function socketDirFor(dataDir: string): string {
  if (path.join(dataDir, SOCKET_NAME).length <= MAX_SOCKET_PATH) return dataDir;
  const hash = createHash('sha256').update(dataDir).digest('hex').slice(0, 16);
  return path.join(os.tmpdir(), `conveyor-${hash}`);
}

export function socketUrl(socketDir: string): string {
  return `postgresql://postgres@localhost/postgres?host=${encodeURIComponent(socketDir)}`;
}

export async function startEmbedded(dataDir: string, maxConnections = 256): Promise<EmbeddedServer> {
  const socketDir = socketDirFor(dataDir);
  mkdirSync(socketDir, { recursive: true, mode: 0o700 });
  const pgdata = path.join(dataDir, 'pgdata');
  mkdirSync(pgdata, { recursive: true });
  const worker = new Worker(new URL('./server-thread.ts', import.meta.url), {
    workerData: { pgdata, socketPath: path.join(socketDir, SOCKET_NAME), maxConnections },
    // Not the parent's flags: under `node --watch` (npm run dev) they would apply to the thread too.
    execArgv: [],
  });
  // Only our own messages: under `node --watch` the thread also posts the runtime's
  // file-tracking messages, which must not be mistaken for "ready".
  const next = () =>
    new Promise<EmbeddedMessage>((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      const onMessage = (m: unknown) => {
        const type = (m as { type?: unknown } | null)?.type;
        if (type !== 'ready' && type !== 'stopped' && type !== 'error') return;
        worker.off('error', onError);
        worker.off('message', onMessage);
        resolve(m as EmbeddedMessage);
      };
      worker.once('error', onError);
      worker.on('message', onMessage);
    });
  const first = await next();
  if (first.type === 'error') {
    await worker.terminate();
    throw new Error(`embedded database failed to start in ${pgdata}: ${first.message}`);
  }
  let stopping: Promise<void> | undefined;
  return {
    url: socketUrl(socketDir),
    socketDir,
    stop: () =>
      (stopping ??= (async () => {
        const done = next();
        worker.postMessage({ type: 'stop' });
        await Promise.race([done, new Promise((r) => setTimeout(r, 10_000).unref())]);
        await worker.terminate();
      })()),
  };
}
