/**
 * Runs inside a worker thread: PGlite (PostgreSQL compiled to WASM) and the socket
 * server that lets every component connect with `pg`. Keeping the WASM engine off the
 * main thread means a long query never stalls the HTTP event loop.
 */
import { rmSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

interface Input {
  pgdata: string;
  socketPath: string;
  maxConnections: number;
}
export type EmbeddedMessage = { type: 'ready' } | { type: 'stopped' } | { type: 'error'; message: string };

const port = parentPort;
if (!port) throw new Error('server-thread must run in a worker thread');
const { pgdata, socketPath, maxConnections } = workerData as Input;
const send = (m: EmbeddedMessage) => port.postMessage(m);

try {
  const db = await PGlite.create(pgdata);
  rmSync(socketPath, { force: true }); // left behind by a killed process; we hold the lock
  const server = new PGLiteSocketServer({ db, path: socketPath, maxConnections });
  await server.start();
  port.on('message', (msg: { type: string }) => {
    if (msg.type !== 'stop') return;
    void (async () => {
      await server.stop();
      await db.close();
      rmSync(socketPath, { force: true });
      send({ type: 'stopped' });
    })();
  });
  send({ type: 'ready' });
} catch (err) {
  send({ type: 'error', message: err instanceof Error ? err.message : String(err) });
}
