/**
 * `GET /metrics` in Prometheus text format: HTTP, task and default process metrics.
 * Each app gets its own registry, so tests can build several apps in one process.
 */
import { errorSummary } from '../../lib/log-errors.ts';
import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { Type } from 'typebox';
import type { TaskMonitor } from '../dashboard/source.ts';
import { registerHttpMetrics } from './http.ts';
import { registerTaskMetrics } from './tasks.ts';

export interface MetricsOptions {
  /** The task engine's monitor API; without it only HTTP and process metrics are exported. */
  readonly monitor?: TaskMonitor | undefined;
}

export function registerMetrics(app: FastifyInstance, opts: MetricsOptions = {}): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  registerHttpMetrics(app, registry);
  if (opts.monitor) {
    const stop = registerTaskMetrics(registry, opts.monitor, {
      onError: (err) => app.log.warn({ err: errorSummary(err) }, 'metrics: task engine unavailable'),
    });
    app.addHook('onClose', async () => stop());
  }

  app.get('/metrics', {
    schema: {
      tags: ['operations'],
      summary: 'Prometheus metrics',
      description: 'HTTP request counts and latency by route and status, task events and runtimes by name and state, queue depth, workers online, process metrics.',
      response: { 200: Type.String({ description: 'Prometheus text exposition format' }) },
    },
    handler: async (_request, reply) => {
      const body = await registry.metrics();
      return reply.type(registry.contentType).send(body);
    },
  });
  return registry;
}
