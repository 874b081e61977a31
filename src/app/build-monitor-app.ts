/**
 * The app `conveyor monitor` serves: the dashboard, its API and live stream, login/logout,
 * health and metrics — and nothing of the public API (no items, no task submission), so
 * it needs only the database and the task broker. Same middleware, security headers and
 * error shape as buildApp.
 */
import Fastify, { LogController, type FastifyBaseLogger } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Config } from '../config/index.ts';
import { accountsRoutes } from '../modules/accounts/routes.ts';
import { dashboardRoutes } from '../modules/dashboard/routes.ts';
import type { TaskMonitor } from '../modules/dashboard/source.ts';
import { healthRoutes } from '../modules/health/routes.ts';
import { registerMetrics } from '../modules/metrics/routes.ts';
import type { App, AppDeps } from './build-app.ts';
import { registerMiddleware } from './middleware.ts';
import { genReqId } from './middleware/request-id.ts';
import { registerSecurityHeaders } from './security-headers.ts';

export interface MonitorAppDeps extends Pick<AppDeps, 'database' | 'logger' | 'readiness'> {
  readonly monitor: TaskMonitor;
}

export async function buildMonitorApp(config: Config, deps: MonitorAppDeps): Promise<App> {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'request_id' }),
    genReqId,
    requestIdHeader: false,
    bodyLimit: config.BODY_LIMIT,
    trustProxy: config.TRUST_PROXY,
    return503OnClosing: true,
    ajv: { customOptions: { removeAdditional: false, allErrors: true, coerceTypes: 'array', useDefaults: true } },
  }).withTypeProvider<TypeBoxTypeProvider>();
  app.removeContentTypeParser(['text/plain']);

  await registerSecurityHeaders(app);
  registerMiddleware(app, config, deps);
  registerMetrics(app, { monitor: deps.monitor });

  await app.register(healthRoutes, { database: deps.database, probes: deps.readiness ?? [] });
  await app.register(accountsRoutes, { prefix: '/api/auth', database: deps.database, config });
  await app.register(dashboardRoutes, { monitor: deps.monitor });
  // The monitor's own port has nothing else to show.
  app.get('/', { schema: { hide: true }, handler: (_request, reply) => reply.redirect('/dashboard', 302) });
  return app;
}
