/**
 * `conveyor serve`: one process, or a primary with N HTTP processes sharing the port
 * (node:cluster, like uvicorn --workers). The process (or the primary) runs a task worker
 * unless `--no-worker`, and in embedded mode owns the database; HTTP processes reach it as
 * clients. Wiring comes from the composition root (runtime.ts).
 */
import cluster from 'node:cluster';
import { closeHttp, handleSignals, type ShutdownStep } from '../lib/shutdown.ts';
import { watchCoverage } from '../tasks/coverage.ts';
import { listWorkers } from '../tasks/store.ts';
import { listen } from './listen.ts';
import { bootstrap, buildRuntime, type Bootstrap, type Runtime } from './runtime.ts';

export interface ServeOptions {
  host?: string;
  port?: number;
  /** HTTP processes sharing the port. */
  workers: number;
  /** Run a task worker in this process (the primary under --workers). Default true; `--no-worker` turns it off. */
  worker: boolean;
}

export async function serve(opts: ServeOptions): Promise<void> {
  const base = bootstrap('serve', {
    ...(opts.host !== undefined ? { HOST: opts.host } : {}),
    ...(opts.port !== undefined ? { PORT: opts.port } : {}),
  });
  if (opts.workers > 1 && cluster.isPrimary) return runPrimary(base, opts);
  const single = cluster.isPrimary; // otherwise an HTTP process of the primary's cluster
  // Load the HTTP stack while the database starts: the embedded server is another process,
  // and a first start's initdb and these imports take about a second each.
  void import('../app/build-app.ts').catch(() => undefined);
  const rt = await buildRuntime(single ? 'serve' : 'serve-http', base, { worker: single && opts.worker, httpProcesses: opts.workers });
  const steps = await startHttp(rt, { watchWorkers: single });
  handleSignals(() => steps, { graceMs: base.config.SHUTDOWN_GRACE_MS, logger: base.logger });
}

/**
 * The HTTP server on a runtime: the app, listening; returns the shutdown steps in order
 * (http first, then the runtime's: worker, queues, database). If it cannot listen, what the
 * runtime opened is closed before the error goes on.
 */
export async function startHttp(rt: Runtime, opts: { watchWorkers: boolean }): Promise<ShutdownStep[]> {
  const { config, logger, tasks } = rt;
  const { buildApp } = await import('../app/build-app.ts');
  const app = await buildApp(config, { database: rt.data.database, logger, ...(tasks ? { tasks, monitor: tasks } : {}) });
  try {
    await listen(app, config.HOST, config.PORT);
  } catch (err) {
    await app.close().catch(() => undefined);
    for (const step of rt.steps()) await step.run().catch(() => undefined);
    throw err;
  }
  logger.info({ mode: config.mode, url: `http://${config.HOST}:${config.PORT}`, worker: Boolean(rt.worker) }, 'conveyor is serving');
  const unwatch = opts.watchWorkers && tasks ? watchCoverage({ queues: rt.registry.queues(), listWorkers: () => tasks.listWorkers(), logger }) : undefined;
  return [{ name: 'http', run: async () => (unwatch?.(), await closeHttp(app)) }, ...rt.steps()];
}

async function runPrimary(base: Bootstrap, opts: ServeOptions): Promise<void> {
  const { config, logger } = base;
  // The primary owns the embedded database (and runs migrations) before any child starts; in
  // every mode it runs the task worker (one command runs everything) and watches that every
  // queue has a worker.
  const rt = await buildRuntime('serve-primary', base, { worker: opts.worker, httpProcesses: opts.workers });
  const unwatch = watchCoverage({ queues: rt.registry.queues(), listWorkers: () => listWorkers(rt.data.database.db), logger });
  // One /metrics answer for all HTTP processes: they ask the primary, which gathers them all.
  (await import('../modules/metrics/cluster.ts')).serveClusterMetrics();
  cluster.setupPrimary({ args: process.argv.slice(2) });
  let stopping = false;
  const fork = () => cluster.fork({ CONVEYOR_CLUSTER_CHILD: '1' });
  for (let i = 0; i < opts.workers; i++) fork();
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return;
    logger.error({ pid: worker.process.pid, code, signal }, 'HTTP process died; starting another');
    fork();
  });
  logger.info({ workers: opts.workers, pid: process.pid }, 'primary started HTTP processes');
  const stopChildren = () =>
    new Promise<void>((resolve) => {
      stopping = true;
      const alive = Object.values(cluster.workers ?? {}).filter((w) => w && !w.isDead());
      if (alive.length === 0) return resolve();
      let left = alive.length;
      for (const w of alive) {
        w!.once('exit', () => --left === 0 && resolve());
        w!.process.kill('SIGTERM');
      }
    });
  handleSignals(() => [{ name: 'http processes', run: async () => (unwatch(), await stopChildren()) }, ...rt.steps()], { graceMs: config.SHUTDOWN_GRACE_MS, logger });
}
