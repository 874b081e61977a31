/**
 * `conveyor serve`: one process, or a primary with N HTTP processes sharing the port
 * (node:cluster, like uvicorn --workers). In embedded mode the process (or the primary)
 * owns the database; HTTP processes reach it through its socket.
 */
import cluster from 'node:cluster';
import type { Logger } from 'pino';
import { createLogger } from '../app/logger.ts';
import { loadConfig, loadDotEnv, type Config } from '../config/index.ts';
import { openData, type DataRuntime } from '../db/runtime.ts';
import { listen } from './listen.ts';
import { watchCoverage } from '../tasks/coverage.ts';
import { closeHttp, handleSignals, type ShutdownStep } from '../lib/shutdown.ts';

export interface ServeOptions {
  host?: string;
  port?: number;
  /** HTTP processes sharing the port. */
  workers: number;
  /** Run a task worker in this process (the primary under --workers). Default true; `--no-worker` turns it off. */
  worker: boolean;
}

function configFor(opts: ServeOptions): Config {
  loadDotEnv();
  return loadConfig(process.env, {
    ...(opts.host !== undefined ? { HOST: opts.host } : {}),
    ...(opts.port !== undefined ? { PORT: opts.port } : {}),
  });
}

export async function serve(opts: ServeOptions): Promise<void> {
  const config = configFor(opts);
  const logger = createLogger(config, 'serve');
  if (opts.workers > 1 && cluster.isPrimary) return runPrimary(config, opts, logger);
  const ownsData = cluster.isPrimary; // a cluster child uses the primary's database
  // Load the HTTP stack while the database starts: the embedded server is another process,
  // and a first start's initdb and these imports take about a second each.
  void preloadHttpStack();
  const data = await openData(config, {
    command: 'serve',
    requireOwnership: ownsData && config.mode === 'embedded',
    logger,
    ...(ownsData ? {} : { poolSize: Math.max(2, Math.ceil(config.DB_POOL_SIZE / opts.workers)) }),
  });
  const stop = await startHttp(config, data, logger, { runWorker: ownsData && opts.worker, watchWorkers: ownsData });
  handleSignals(() => stop, { graceMs: config.SHUTDOWN_GRACE_MS, logger });
}

function preloadHttpStack(): Promise<unknown> {
  return Promise.all([
    import('../app/build-app.ts'),
    import('../tasks/backend.ts'),
    import('../tasks/index.ts'),
    import('../modules/tasks/monitor.ts'),
    import('../tasks/worker.ts'),
  ]).catch(() => undefined); // a failing import fails again, with its error, where it is awaited
}

/**
 * Build and start the HTTP server on an open data layer, with the task client and (in
 * embedded mode) an in-process worker; returns the shutdown steps in order:
 * http, worker, queues, database.
 */
export async function startHttp(config: Config, data: DataRuntime, logger: Logger, opts: { runWorker: boolean; watchWorkers: boolean }): Promise<ShutdownStep[]> {
  const { buildApp } = await import('../app/build-app.ts');
  const { openTaskBackend } = await import('../tasks/backend.ts');
  const { createRegistry, createTaskClient } = await import('../tasks/index.ts');
  const { taskMonitor } = await import('../modules/tasks/monitor.ts');
  const registry = await createRegistry(config);
  const backend = await openTaskBackend(config, {
    databaseUrl: data.url,
    forWorkers: opts.runWorker,
    logger,
    poolSize: 10,
  });
  const tasks = await createTaskClient({ config, data, registry, backend });
  let worker: { close(): Promise<void> } | undefined;
  if (opts.runWorker) {
    const { startTaskWorker } = await import('../tasks/worker.ts');
    worker = await startTaskWorker({ config, backend, registry, database: data.database, logger: logger.child({ component: 'worker' }) });
  }
  const app = await buildApp(config, { database: data.database, logger, tasks, monitor: taskMonitor(tasks) });
  await listen(app, config.HOST, config.PORT);
  logger.info({ mode: config.mode, url: `http://${config.HOST}:${config.PORT}`, worker: Boolean(worker) }, 'conveyor is serving');
  const unwatch = opts.watchWorkers ? watchCoverage({ queues: registry.queues(), listWorkers: () => tasks.listWorkers(), logger }) : undefined;
  return [
    { name: 'http', run: async () => (unwatch?.(), await closeHttp(app)) },
    { name: 'worker', run: async () => worker?.close() },
    { name: 'queues', run: async () => (await tasks.close(), await backend.close()) },
    { name: 'database', run: () => data.close() },
  ];
}

async function runPrimary(config: Config, opts: ServeOptions, logger: Logger): Promise<void> {
  // The primary owns the embedded database (and runs migrations) before any child starts; in
  // every mode it runs the task worker (one command runs everything) and watches that every
  // queue has a worker.
  const data = await openData(config, { command: 'serve', requireOwnership: config.mode === 'embedded', logger, poolSize: 4 });
  const worker = opts.worker ? await startPrimaryWorker(config, data, logger) : undefined;
  const { createRegistry } = await import('../tasks/index.ts');
  const { listWorkers } = await import('../tasks/store.ts');
  const unwatch = watchCoverage({ queues: (await createRegistry(config)).queues(), listWorkers: () => listWorkers(data.database.db), logger });
  cluster.setupPrimary({ args: process.argv.slice(2) });
  let stopping = false;
  // One /metrics answer for all HTTP processes: they ask the primary, which gathers them all.
  (await import('../modules/metrics/cluster.ts')).serveClusterMetrics();
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
  handleSignals(
    () => [
      { name: 'http processes', run: async () => (unwatch(), await stopChildren()) },
      ...(worker ?? []),
      { name: 'database', run: () => data.close() },
    ],
    { graceMs: config.SHUTDOWN_GRACE_MS, logger },
  );
}

/** The cluster primary's task worker; returns its shutdown steps: worker, queues. */
async function startPrimaryWorker(config: Config, data: DataRuntime, logger: Logger): Promise<ShutdownStep[]> {
  const { openTaskBackend } = await import('../tasks/backend.ts');
  const { createRegistry } = await import('../tasks/index.ts');
  const { startTaskWorker } = await import('../tasks/worker.ts');
  const registry = await createRegistry(config);
  const backend = await openTaskBackend(config, { databaseUrl: data.url, forWorkers: true, poolSize: 4 });
  const worker = await startTaskWorker({ config, backend, registry, database: data.database, logger: logger.child({ component: 'worker' }) });
  return [
    { name: 'worker', run: () => worker.close() },
    { name: 'queues', run: () => backend.close() },
  ];
}
