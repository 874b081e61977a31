/**
 * The app `conveyor monitor` serves: the dashboard, its API and live stream, login/logout,
 * health and metrics — and nothing of the public API (no items, no task submission), so
 * it needs only the database and the task broker. Same base (createBaseApp) as buildApp.
 */
import type { Config } from '../config/index.ts';
import { accountsRoutes } from '../modules/accounts/routes.ts';
import { dashboardRoutes } from '../modules/dashboard/routes.ts';
import type { TaskMonitor } from '../tasks/monitor.ts';
import { healthRoutes } from '../modules/health/routes.ts';
import type { AppDeps } from './build-app.ts';
import { createBaseApp, type App } from './base-app.ts';

export interface MonitorAppDeps extends Pick<AppDeps, 'database' | 'logger' | 'readiness'> {
  readonly monitor: TaskMonitor;
}

export async function buildMonitorApp(config: Config, deps: MonitorAppDeps): Promise<App> {
  const app = await createBaseApp(config, deps);

  await app.register(healthRoutes, { database: deps.database, probes: deps.readiness ?? [] });
  await app.register(accountsRoutes, { prefix: '/api/auth', database: deps.database, config });
  await app.register(dashboardRoutes, { monitor: deps.monitor });
  // The monitor's own port has nothing else to show.
  app.get('/', { schema: { hide: true }, handler: (_request, reply) => reply.redirect('/dashboard', 302) });
  return app;
}
