/**
 * The app factory: `buildApp(config, deps)` returns an unstarted Fastify instance.
 * `conveyor serve` and the tests both call it; nothing here listens or reads process.env.
 */
import type { Logger } from 'pino';
import type { Config } from '../config/index.ts';
import type { Database } from '../db/client.ts';
import { accountsRoutes } from '../modules/accounts/routes.ts';
import { externalRoutes } from '../modules/external/routes.ts';
import { filesRoutes } from '../modules/files/routes.ts';
import { healthRoutes, type ReadinessProbe } from '../modules/health/routes.ts';
import { itemsRoutes } from '../modules/items/routes.ts';
import { dashboardRoutes } from '../modules/dashboard/routes.ts';
import type { TaskMonitor } from '../tasks/monitor.ts';
import { taskRoutes } from '../modules/tasks/routes.ts';
import { workflowRoutes } from '../modules/workflows/routes.ts';
import type { TaskClient } from '../tasks/task-client.ts';
import { createBaseApp, type App } from './base-app.ts';

export interface AppDeps {
  readonly database: Database;
  readonly logger: Logger;
  /** Dependencies /readyz checks besides the database (default: the task client's). */
  readonly readiness?: readonly ReadinessProbe[];
  /** The task engine's monitor API, for /metrics task series and the dashboard. */
  readonly monitor?: TaskMonitor;
  /** The task engine client: mounts /api/tasks and adds the broker to /readyz. */
  readonly tasks?: TaskClient;
}

export type { App };

export async function buildApp(config: Config, deps: AppDeps): Promise<App> {
  const app = await createBaseApp(config, deps, { openApi: true });

  const probes = deps.readiness ?? deps.tasks?.readiness ?? [];
  await app.register(healthRoutes, { database: deps.database, probes });
  await app.register(itemsRoutes, { prefix: '/api/items', database: deps.database, bulkBodyLimit: config.BULK_BODY_LIMIT });
  await app.register(accountsRoutes, { prefix: '/api/auth', database: deps.database, config });
  await app.register(externalRoutes, { prefix: '/api', config });
  await app.register(filesRoutes, { prefix: '/api', config });
  if (deps.tasks) await app.register(taskRoutes, { prefix: '/api/tasks', tasks: deps.tasks });
  if (deps.tasks) await app.register(workflowRoutes, { prefix: '/api/workflows', tasks: deps.tasks });
  if (deps.monitor) await app.register(dashboardRoutes, { monitor: deps.monitor });
  return app;
}
