/** Liveness and readiness: `/healthz` while the process runs, `/readyz` when its dependencies answer. */
import type { FastifyPluginAsync } from 'fastify';
import { Type } from 'typebox';
import type { Database } from '../../db/client.ts';

export interface ReadinessProbe {
  readonly name: string;
  /** Throws when the dependency fails (503); may resolve with a warning that does not fail readiness. */
  check(): Promise<void | string>;
}

const PROBE_TIMEOUT_MS = 2_000;

const Readiness = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('unavailable')]),
  checks: Type.Record(
    Type.String(),
    Type.Object({
      ok: Type.Boolean(),
      ms: Type.Number(),
      error: Type.Optional(Type.String()),
      warning: Type.Optional(Type.String({ description: 'Something an operator should know that does not make the service unready (e.g. a queue no worker consumes)' })),
    }),
  ),
});

async function run(probe: ReadinessProbe) {
  const start = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    const warning = await Promise.race([
      probe.check(),
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer in ${PROBE_TIMEOUT_MS} ms`)), PROBE_TIMEOUT_MS))),
    ]);
    return { ok: true, ms: Math.round(performance.now() - start), ...(typeof warning === 'string' ? { warning } : {}) };
  } catch (err) {
    return { ok: false, ms: Math.round(performance.now() - start), error: err instanceof Error ? err.message : String(err) };
  } finally {
    clearTimeout(timer);
  }
}

export const healthRoutes: FastifyPluginAsync<{ database: Database; probes: readonly ReadinessProbe[] }> = async (app, opts) => {
  const probes: ReadinessProbe[] = [
    { name: 'database', check: async () => void (await opts.database.pool.query('select 1')) },
    ...opts.probes,
  ];
  app.get('/healthz', {
    schema: { tags: ['operations'], summary: 'Liveness', response: { 200: Type.Object({ status: Type.Literal('ok') }) } },
    handler: async () => ({ status: 'ok' as const }),
  });
  app.get('/readyz', {
    schema: {
      tags: ['operations'],
      summary: 'Readiness: 503 naming the dependency that failed',
      response: { 200: Readiness, 503: Readiness },
    },
    handler: async (_request, reply) => {
      const results = await Promise.all(probes.map(async (p) => [p.name, await run(p)] as const));
      const ok = results.every(([, r]) => r.ok);
      return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : 'unavailable', checks: Object.fromEntries(results) });
    },
  });
};
