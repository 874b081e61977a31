/**
 * `conveyor monitor`: the dashboard alone (Flower's `celery flower`), on its own port.
 * It opens the database and the task broker as a client — no worker, no items API — so
 * it can run beside any number of `serve` and `worker` processes, or on its own machine.
 */
import { createLogger } from '../app/logger.ts';
import { loadConfig, loadDotEnv } from '../config/index.ts';
import { openData } from '../db/runtime.ts';
import { listen } from './listen.ts';
import { closeHttp, handleSignals } from '../lib/shutdown.ts';

export interface MonitorOptions {
  host?: string;
  port?: number;
}

/** Flower's port. */
export const DEFAULT_MONITOR_PORT = 5555;

export async function monitor(opts: MonitorOptions): Promise<void> {
  loadDotEnv();
  const config = loadConfig(process.env, {
    ...(opts.host !== undefined ? { HOST: opts.host } : {}),
    PORT: opts.port ?? DEFAULT_MONITOR_PORT,
  });
  const logger = createLogger(config, 'monitor');
  const data = await openData(config, { command: 'monitor', logger, poolSize: Math.min(config.DB_POOL_SIZE, 5) });
  const { openTaskBackend } = await import('../tasks/backend.ts');
  const { createTaskClient } = await import('../tasks/index.ts');
  const { taskMonitor } = await import('../modules/tasks/monitor.ts');
  const { buildMonitorApp } = await import('../app/build-monitor-app.ts');
  const backend = await openTaskBackend(config, { databaseUrl: data.url, poolSize: 5, logger });
  const tasks = await createTaskClient({ config, data, backend });
  const app = await buildMonitorApp(config, { database: data.database, logger, monitor: taskMonitor(tasks), readiness: tasks.readiness });
  await listen(app, config.HOST, config.PORT);
  logger.info({ mode: config.mode, url: `http://${config.HOST}:${config.PORT}/dashboard` }, 'conveyor monitor is serving');
  handleSignals(
    () => [
      { name: 'http', run: () => closeHttp(app) },
      { name: 'queues', run: async () => (await tasks.close(), await backend.close()) },
      { name: 'database', run: () => data.close() },
    ],
    { graceMs: config.SHUTDOWN_GRACE_MS, logger },
  );
}
