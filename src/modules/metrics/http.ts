/**
 * HTTP metrics: one histogram observation per request, in an onResponse hook.
 * The route label is the route's pattern (`/api/items/:id`), never the raw URL, so the
 * number of series stays bounded whatever clients send.
 */
import type { FastifyInstance } from 'fastify';
import { Counter, Histogram, type Registry } from 'prom-client';

/** Label for requests that matched no route (404s of arbitrary paths share one series). */
export const UNMATCHED_ROUTE = '<unmatched>';

const DURATION = 'http_request_duration_seconds';

export function registerHttpMetrics(app: FastifyInstance, registry: Registry): void {
  const duration = new Histogram({
    name: DURATION,
    help: 'HTTP request latency by method, route pattern and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });

  // The request counter is read off the histogram's _count when scraped, so the hot
  // path pays for one observation instead of two.
  new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests by method, route pattern and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
    async collect() {
      const { values } = await duration.get();
      this.reset();
      for (const v of values) {
        if (v.metricName === `${DURATION}_count`) this.inc(v.labels as Record<'method' | 'route' | 'status', string>, v.value);
      }
    },
  });

  app.addHook('onResponse', (request, reply, done) => {
    duration.observe(
      { method: request.method, route: request.routeOptions.url ?? UNMATCHED_ROUTE, status: reply.statusCode },
      reply.elapsedTime / 1000,
    );
    done();
  });
}
