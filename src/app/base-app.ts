/**
 * What every Conveyor HTTP app shares (the API's buildApp and the monitor's): Fastify's
 * options, validation (every offending field, bounded), JSON-only bodies, security headers, the ordered middleware, the non-finite
 * number guard and /metrics. The factories add their routes on top.
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Logger } from 'pino';
import type { Config } from '../config/index.ts';
import type { Database } from '../db/client.ts';
import type { TaskMonitor } from '../tasks/monitor.ts';
import { registerMetrics } from '../modules/metrics/routes.ts';
import { rejectNonFiniteNumbers } from './finite-numbers.ts';
import { registerMiddleware } from './middleware.ts';
import { registerOpenApi } from './openapi.ts';
import { lazyRequestLogger } from './request-logger.ts';
import { genReqId } from './middleware/request-id.ts';
import { registerSecurityHeaders } from './security-headers.ts';
import { registerValidation } from './validation.ts';

export type App = FastifyInstance;

export interface BaseAppOptions {
  /** Serve the OpenAPI document and /docs (the API; not the monitor). It must come before any route it lists. */
  readonly openApi?: boolean;
}

export async function createBaseApp(
  config: Config,
  deps: { database: Database; logger: Logger; monitor?: TaskMonitor | undefined },
  opts: BaseAppOptions = {},
): Promise<App> {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    // The access-log middleware writes one line per request instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'request_id' }),
    genReqId,
    childLoggerFactory: lazyRequestLogger,
    requestIdHeader: false,
    bodyLimit: config.BODY_LIMIT,
    trustProxy: config.TRUST_PROXY,
    return503OnClosing: true,
  }).withTypeProvider<TypeBoxTypeProvider>();
  registerValidation(app);

  // JSON only: any other body is answered 415 by the error handler.
  app.removeContentTypeParser(['text/plain']);

  // Before the middleware, so even a response the middleware cuts short carries the headers.
  await registerSecurityHeaders(app);
  registerMiddleware(app, config, deps);
  rejectNonFiniteNumbers(app);
  if (opts.openApi) await registerOpenApi(app);
  registerMetrics(app, { monitor: deps.monitor });
  return app;
}
