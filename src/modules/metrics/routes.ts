/**
 * `GET /metrics` in Prometheus text format: HTTP, task and default process metrics.
 * Each app gets its own registry, so tests can build several apps in one process. Under
 * `serve --workers N` the answer covers every HTTP process (cluster.ts).
 */
import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { Type } from 'typebox';
import { errorResponses } from '../../http/errors.ts';
import { errorSummary } from '../../lib/log-errors.ts';
import type { TaskMonitor } from '../../tasks/monitor.ts';
import { clusterMetricsSource, inCluster } from './cluster.ts';
import { registerHttpMetrics } from './http.ts';
import { registerTaskMetrics } from './tasks.ts';

/** Under `serve --workers N`, the cluster primary could not gather every process's metrics (503). */
export class MetricsUnavailable extends Error {
  override name = 'MetricsUnavailable';
}

export interface MetricsOptions {
  /** The task engine's monitor API; without it only HTTP and process metrics are exported. */
  readonly monitor?: TaskMonitor | undefined;
}

export function registerMetrics(app: FastifyInstance, opts: MetricsOptions = {}): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  registerHttpMetrics(app, registry);
  if (opts.monitor) {
    registerTaskMetrics(registry, opts.monitor, {
      onError: (err) => app.log.warn({ err: errorSummary(err) }, 'metrics: task engine unavailable'),
    });
  }

  const clusterMetrics = inCluster() ? clusterMetricsSource(registry) : undefined;
  app.get('/metrics', {
    schema: {
      tags: ['operations'],
      summary: 'Prometheus metrics',
      description:
        'HTTP request counts and latency by route and status, task runs and runtimes by name and outcome (the whole deployment\'s), queue depth, workers online, process metrics. ' +
        'Under `serve --workers N` one scrape covers all N HTTP processes (counters and histograms summed); 503 when they cannot be gathered.',
      response: { 200: Type.String({ description: 'Prometheus text exposition format' }), ...errorResponses(503) },
    },
    handler: async (_request, reply) => {
      let body: string;
      try {
        body = await (clusterMetrics ?? (() => registry.metrics()))();
      } catch (err) {
        // A scrape that covers one process of N would look right and be wrong: fail it instead.
        throw new MetricsUnavailable('The cluster\'s metrics could not be gathered right now', { cause: err });
      }
      return reply.type(registry.contentType).send(body);
    },
  });
  return registry;
}
