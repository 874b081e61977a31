/**
 * `conveyor monitor`: the dashboard alone, on its own port.
 * It opens the database and the task broker as a client — no worker, no items API — so
 * it can run beside any number of `serve` and `worker` processes, or on its own machine.
 */
import { closeHttp, handleSignals } from '../lib/shutdown.ts';
import { listen } from './listen.ts';
import { bootstrap, buildRuntime } from './runtime.ts';

export interface MonitorOptions {
  host?: string;
  port?: number;
}

/** The monitor's default port: Flower's, which operators of a Celery deployment already expect (docs/from-django.md). */
export const DEFAULT_MONITOR_PORT = 5555;

export async function monitor(opts: MonitorOptions): Promise<void> {
  const base = bootstrap('monitor', {
    ...(opts.host !== undefined ? { HOST: opts.host } : {}),
    PORT: opts.port ?? DEFAULT_MONITOR_PORT,
  });
  const { config, logger } = base;
  const rt = await buildRuntime('monitor', base);
  const tasks = rt.tasks!;
  const { buildMonitorApp } = await import('../app/build-monitor-app.ts');
  const app = await buildMonitorApp(config, { database: rt.data.database, logger, monitor: tasks, readiness: tasks.readiness });
  try {
    await listen(app, config.HOST, config.PORT);
  } catch (err) {
    await app.close().catch(() => undefined);
    for (const step of rt.steps()) await step.run().catch(() => undefined);
    throw err;
  }
  logger.info({ mode: config.mode, url: `http://${config.HOST}:${config.PORT}/dashboard` }, 'conveyor monitor is serving');
  handleSignals(() => [{ name: 'http', run: () => closeHttp(app) }, ...rt.steps()], { graceMs: config.SHUTDOWN_GRACE_MS, logger });
}
