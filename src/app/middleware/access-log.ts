/** Middleware 2: one access-log line per request, with method, route, status and duration. */
import type { FastifyInstance } from 'fastify';

export function accessLog(app: FastifyInstance): void {
  app.addHook('onResponse', (request, reply, done) => {
    request.log.info(
      {
        method: request.method,
        route: request.routeOptions.url ?? null,
        url: request.url,
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime * 100) / 100,
        user: request.user?.id,
      },
      'request',
    );
    done();
  });
}
