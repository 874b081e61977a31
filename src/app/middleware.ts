/**
 * The middleware, in order. Each entry wraps every request:
 *   1. request id      — `x-request-id` in, out and in every log line
 *   2. access log      — one line per request: method, route, status, duration
 *   3. authentication  — `request.user` from the session cookie or Bearer token, else anonymous;
 *                        writes under /api/ answer 401 to it; cookie-authenticated writes
 *                        must carry the CSRF token
 *   4. error handler   — every failure rendered as the contract's error body
 */
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config/index.ts';
import type { Database } from '../db/client.ts';
import { authentication } from '../modules/accounts/authentication.ts';
import { accessLog } from './middleware/access-log.ts';
import { errorHandler } from './middleware/error-handler.ts';
import { requestId } from './middleware/request-id.ts';

export function registerMiddleware(app: FastifyInstance, config: Config, deps: { database: Database }): void {
  requestId(app);
  accessLog(app);
  authentication(app, config, deps);
  errorHandler(app, { debug: config.DEBUG });
}
