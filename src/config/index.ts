/**
 * Settings: the only module that reads `process.env`.
 * Parsed once at start, validated against one schema, frozen and passed down.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseAllowedHosts, type AllowedHost } from './allowed-hosts.ts';
import { Type, type Static } from 'typebox';
import { Value } from 'typebox/value';
import { ExpectedError } from '../lib/errors.ts';

const Bool = (fallback: boolean, description: string) => Type.Boolean({ default: fallback, description });
const Int = (fallback: number | undefined, min: number, description: string) =>
  fallback === undefined
    ? Type.Optional(Type.Integer({ minimum: min, description }))
    : Type.Integer({ minimum: min, default: fallback, description });

/** The environment, one entry per variable; defaults and meaning live here and in README's table. */
export const EnvSchema = Type.Object({
  NODE_ENV: Type.Union([Type.Literal('development'), Type.Literal('production'), Type.Literal('test')], {
    default: 'development',
  }),
  HOST: Type.String({ default: '127.0.0.1', description: 'Interface the HTTP server binds to' }),
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 8000, description: 'HTTP port' }),
  DATABASE_URL: Type.Optional(Type.String({ pattern: '^postgres(ql)?://', description: 'PostgreSQL URL; unset = embedded mode (a PostgreSQL server Conveyor runs in DATA_DIR)' })),
  REDIS_URL: Type.Optional(Type.String({ pattern: '^rediss?://', description: 'Redis URL for the task broker; unset = PostgreSQL backend' })),
  DATA_DIR: Type.String({ default: './.conveyor', description: 'Embedded PostgreSQL cluster, lock file and generated secret' }),
  SECRET_KEY: Type.Optional(Type.String({ minLength: 32, description: 'Signs sessions and CSRF tokens; required in production' })),
  LOG_LEVEL: Type.Union(
    [
      Type.Literal('fatal'), Type.Literal('error'), Type.Literal('warn'), Type.Literal('info'),
      Type.Literal('debug'), Type.Literal('trace'), Type.Literal('silent'),
    ],
    { default: 'info' },
  ),
  DEBUG: Bool(false, 'Show stack traces and SQL in 500 responses'),
  EXTERNAL_API_URL: Type.String({ default: 'https://jsonplaceholder.typicode.com/todos/1', description: 'Upstream of GET /api/external' }),
  DATA_FILE: Type.String({ default: './data.json', description: 'File read by GET /api/file' }),
  FETCH_TIMEOUT_MS: Int(10_000, 1, 'Outbound HTTP timeout (GET /api/external, fetch_data)'),
  FETCH_MAX_BYTES: Int(5 * 1024 * 1024, 1, 'Largest outbound response body accepted'),
  FETCH_ALLOW_PRIVATE: Bool(false, 'Allow outbound HTTP to loopback/private addresses (development only)'),
  FETCH_ALLOWED_HOSTS: Type.String({ default: '', description: 'Comma-separated destinations allowed even if private: `host` (every port of it) or `host:port` (that port only), IPv6 as `[::1]:9100`; checked on every hop, redirects included' }),
  WORKER_CONCURRENCY: Int(16, 1, 'Tasks a worker runs at once'),
  TASK_QUEUE_LIMIT: Int(100_000, 1, 'Waiting tasks above which POST /api/tasks answers 429'),
  TASK_RESULT_TTL: Int(7 * 24 * 3600, 0, 'Seconds a finished task and its result are kept'),
  TASK_RESULT_MAX: Int(100_000, 1, 'Finished tasks kept per outcome (SUCCESS, FAILURE, REVOKED), oldest removed first'),
  TASK_MODULES: Type.String({ default: '', description: 'Comma-separated modules whose exported tasks are registered (like Celery include=)' }),
  TASK_PREFIX: Type.String({ default: 'conveyor', pattern: '^[A-Za-z0-9_.:-]{1,64}$', description: 'Redis key prefix of the task queues (several deployments can share one Redis)' }),
  TASK_LOCK_MS: Int(30_000, 500, 'How long a worker holds a task without renewing; a crashed worker\'s tasks run again after about this long'),
  TOKEN_CACHE_MS: Int(2_000, 0, 'How long a server trusts a verified API token before checking it again (a revocation from another process takes effect within this; 0 = every request)'),
  BODY_LIMIT: Int(1024 * 1024, 1, 'Largest JSON body in bytes'),
  BULK_BODY_LIMIT: Int(16 * 1024 * 1024, 1, 'Largest body of POST /api/items/bulk'),
  DB_POOL_SIZE: Int(20, 1, 'Connections per process in the PostgreSQL pool'),
  DB_UNAVAILABLE_TIMEOUT_MS: Int(2_000, 1, 'How long a request waits for a database connection before 503'),
  SHUTDOWN_GRACE_MS: Int(10_000, 0, 'How long shutdown waits for in-flight work'),
  TRUST_PROXY: Bool(false, 'Trust X-Forwarded-* headers (behind a TLS proxy)'),
  SESSION_MAX_AGE: Int(14 * 24 * 3600, 60, 'Seconds a login session lasts (the cookie and the database row)'),
  SESSION_CACHE_MS: Int(2_000, 0, 'How long a server trusts a verified login session before checking it again (a logout through this server applies at once, through another process within this; 0 = every request)'),
  LOGIN_RATE_PER_IP: Int(20, 1, 'Login attempts per minute from one client address before 429 (per process)'),
  LOGIN_RATE_PER_USER: Int(10, 1, 'Login attempts per minute for one username before 429 (per process)'),
  CELERY_BROKER_URL: Type.Optional(Type.String({ pattern: '^rediss?://', description: 'Redis URL of a Celery broker: Conveyor\'s workers also run its messages (tasks declaring `celery:`), `defineCeleryTask` tasks are sent there, and the monitor follows its events; unset = Celery interoperability off' })),
  CELERY_RESULT_BACKEND: Type.Optional(Type.String({ pattern: '^rediss?://', description: 'Redis URL of the Celery result backend: where Conveyor writes the results of Celery messages it runs and reads those of the tasks it sends; default CELERY_BROKER_URL' })),
  CELERY_QUEUES: Type.String({ default: 'conveyor', pattern: '^\\s*[A-Za-z0-9_.:@-]+(\\s*,\\s*[A-Za-z0-9_.:@-]+)*\\s*$', description: 'Comma-separated Celery queues Conveyor\'s workers consume (route the moved tasks there: `CELERY_TASK_ROUTES`)' }),
  CELERY_VISIBILITY_TIMEOUT: Int(3600, 1, 'Seconds a Celery message taken but not acknowledged stays invisible before a sweep puts it back on its queue (kombu\'s `visibility_timeout`)'),
  CELERY_EVENTS: Type.Optional(Type.Boolean({ description: 'The monitor follows the Celery cluster\'s events (`celery worker -E`); default on when CELERY_BROKER_URL is set' })),
  CELERY_FOLLOW_MS: Int(5_000, 100, 'How often unfinished tasks sent to Celery workers are read back from the result backend (besides its live notifications)'),
  OTEL_EXPORTER_OTLP_ENDPOINT: Type.Optional(Type.String({ pattern: '^https?://', description: 'OTLP/HTTP collector base URL; set = export OpenTelemetry traces' })),
  OTEL_SERVICE_NAME: Type.String({ default: 'conveyor', description: 'service.name of exported traces' }),
});
export type Env = Static<typeof EnvSchema>;

export type RunMode = 'embedded' | 'postgres' | 'redis';

export interface Config extends Readonly<Env> {
  readonly mode: RunMode;
  /** Absolute path of DATA_DIR. */
  readonly dataDir: string;
  readonly fetchAllowedHosts: readonly AllowedHost[];
  readonly taskModules: readonly string[];
  /** Celery interoperability, when CELERY_BROKER_URL is set. */
  readonly celery?: CeleryConfig;
}

export interface CeleryConfig {
  readonly brokerUrl: string;
  readonly resultBackendUrl: string;
  readonly queues: readonly string[];
  readonly visibilityTimeoutS: number;
  /** The dashboard's processes follow the cluster's events (CELERY_EVENTS). */
  readonly events: boolean;
}

export class ConfigError extends ExpectedError {
  override name = 'ConfigError';
}

/** Parse an environment into a frozen Config, or throw a ConfigError naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<Env> = {}): Config {
  const known = Object.keys(EnvSchema.properties);
  const raw: Record<string, unknown> = {};
  for (const key of known) {
    const v = env[key];
    if (v !== undefined && v !== '') raw[key] = v;
  }
  Object.assign(raw, overrides);
  const withDefaults = Value.Default(EnvSchema, Value.Convert(EnvSchema, raw));
  const errors = [...Value.Errors(EnvSchema, withDefaults)];
  if (errors.length > 0) {
    const lines = errors.map((e) => {
      const name = e.instancePath.replace(/^\//, '') || String((e.params as { requiredProperties?: string[] }).requiredProperties ?? '');
      return `  ${name}=${JSON.stringify(raw[name] ?? '')}: ${e.message}`;
    });
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const parsed = withDefaults as Env;
  if (parsed.NODE_ENV === 'production' && !parsed.SECRET_KEY) {
    throw new ConfigError('SECRET_KEY is required when NODE_ENV=production (at least 32 characters; e.g. `openssl rand -hex 32`)');
  }
  const mode: RunMode = parsed.REDIS_URL ? 'redis' : parsed.DATABASE_URL ? 'postgres' : 'embedded';
  if (parsed.REDIS_URL && !parsed.DATABASE_URL) {
    throw new ConfigError('REDIS_URL needs DATABASE_URL too: the redis mode keeps data in PostgreSQL and tasks in Redis');
  }
  const allowed = parseAllowedHosts(parsed.FETCH_ALLOWED_HOSTS);
  if (allowed.errors.length > 0) {
    throw new ConfigError(`Invalid configuration:\n${allowed.errors.map((e) => `  FETCH_ALLOWED_HOSTS ${e}`).join('\n')}`);
  }
  if (parsed.CELERY_RESULT_BACKEND && !parsed.CELERY_BROKER_URL) {
    throw new ConfigError('CELERY_RESULT_BACKEND needs CELERY_BROKER_URL: Conveyor writes Celery results only for the messages it takes from a Celery broker');
  }
  const celery: CeleryConfig | undefined = parsed.CELERY_BROKER_URL
    ? Object.freeze({
        brokerUrl: parsed.CELERY_BROKER_URL,
        resultBackendUrl: parsed.CELERY_RESULT_BACKEND ?? parsed.CELERY_BROKER_URL,
        queues: Object.freeze(parsed.CELERY_QUEUES.split(',').map((q) => q.trim()).filter(Boolean)),
        visibilityTimeoutS: parsed.CELERY_VISIBILITY_TIMEOUT,
        events: parsed.CELERY_EVENTS ?? true,
      })
    : undefined;
  return Object.freeze({
    ...parsed,
    mode,
    ...(celery ? { celery } : {}),
    dataDir: path.resolve(parsed.DATA_DIR),
    taskModules: Object.freeze(parsed.TASK_MODULES.split(',').map((m) => m.trim()).filter(Boolean)),
    fetchAllowedHosts: Object.freeze(allowed.hosts.map((h) => Object.freeze(h))),
  });
}

/** Load `.env` from the working directory into process.env (variables already set win). */
export function loadDotEnv(file = '.env'): void {
  if (existsSync(file)) process.loadEnvFile(file);
}
