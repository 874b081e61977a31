/**
 * Optional OpenTelemetry tracing: HTTP server and client calls, Fastify routes and hooks,
 * PostgreSQL queries, exported over OTLP/HTTP to OTEL_EXPORTER_OTLP_ENDPOINT. Unset (the
 * default), nothing beyond this file is loaded.
 *
 * It must start before the modules it patches are imported, so the CLI calls it before
 * loading the chosen verb. The app is ESM, so patching goes through import-in-the-middle's
 * in-thread loader hooks (what @opentelemetry/instrumentation itself uses), limited to the
 * instrumented packages so our own TypeScript modules load untouched.
 */
import { loadConfig, loadDotEnv } from '../config/index.ts';

const INSTRUMENTED = ['fastify', 'pg', 'pg-pool', 'http', 'https', 'node:http', 'node:https'];

export interface Tracing {
  shutdown(): Promise<void>;
}

/** Starts tracing when the configuration asks for it; a bad configuration is left for the verb to report. */
export async function startTracingIfConfigured(): Promise<Tracing | undefined> {
  let config;
  try {
    loadDotEnv();
    config = loadConfig();
  } catch {
    return undefined;
  }
  const endpoint = config.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (!endpoint) return undefined;

  const hooks = await import('import-in-the-middle/register-hooks.mjs');
  if (hooks.supportsSyncHooks()) hooks.register({ include: INSTRUMENTED });
  else process.emitWarning('OpenTelemetry: this Node.js has no synchronous loader hooks; only node:http is traced');

  const [{ NodeSDK }, { OTLPTraceExporter }, { HttpInstrumentation }, { FastifyInstrumentation }, { PgInstrumentation }] = await Promise.all([
    import('@opentelemetry/sdk-node'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/instrumentation-http'),
    import('@opentelemetry/instrumentation-fastify'),
    import('@opentelemetry/instrumentation-pg'),
  ]);
  const sdk = new NodeSDK({
    serviceName: config.OTEL_SERVICE_NAME,
    // Traces only: metrics are Prometheus's job (/metrics).
    metricReaders: [],
    traceExporter: new OTLPTraceExporter({ url: new URL('v1/traces', endpoint.endsWith('/') ? endpoint : `${endpoint}/`).href }),
    instrumentations: [
      // Probes and scrapes every few seconds would drown the real traffic.
      new HttpInstrumentation({ ignoreIncomingRequestHook: (req) => /^\/(healthz|readyz|metrics)\b/.test(req.url ?? '') }),
      new FastifyInstrumentation(),
      // Only queries inside a traced request: idle workers poll the database several times a second.
      new PgInstrumentation({ requireParentSpan: true, enhancedDatabaseReporting: false }),
    ],
  });
  sdk.start();
  // Flush what is buffered when the process is asked to stop (the ordered shutdown runs alongside).
  const flush = () => void sdk.shutdown().catch(() => undefined);
  process.once('SIGTERM', flush);
  process.once('SIGINT', flush);
  return { shutdown: () => sdk.shutdown() };
}
