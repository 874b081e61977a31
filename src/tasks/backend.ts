/**
 * One engine, three backends: BullMQ on Redis (REDIS_URL), or BullMQ's PostgreSQL backend
 * on DATABASE_URL or on the embedded database. Everything else in src/tasks speaks only
 * to the Queue/Worker/QueueEvents built here.

 */
import {
  Queue,
  QueueEvents,
  Worker,
  createPostgresBackend,
  runMigrations,
  assertSchemaCompatibility,
  SchemaMigrationRequiredError,
  type BackendFactory,
  type ConnectionOptions,
  type IQueueBackend,
  type PostgresQueueBackend,
  type Processor,
  type WorkerOptions,
} from 'bullmq';
import pg from 'pg';
import type { Logger } from 'pino';
import type { Config } from '../config/index.ts';
import { ExpectedError } from '../lib/errors.ts';
import { EVENT_ID_INDEX, EVENT_ID_INDEX_SQL, readEventsInOrder } from './ordered-events.ts';
import { stabiliseRanges } from './stable-ranges.ts';

/** How long a missing event id is waited for before it is given up as rolled back (PostgreSQL). */
const EVENT_SETTLE_MS = 1_000;

/** What a job carries besides its name (the task name). Short keys: this is stored per task. */
export interface TaskJobData {
  readonly args: unknown;
  /** users.id of the creator. */
  readonly by?: number | null;
  /** Per-enqueue timeout override (ms). */
  readonly timeoutMs?: number;
  /** Set by revoke(): the handler never starts, or is aborted. */
  readonly revoked?: boolean;
}

export type TaskQueue = Queue<TaskJobData, unknown, string>;
export type TaskWorker = Worker<TaskJobData, unknown, string>;
export type TaskQueueEvents = QueueEvents<unknown>;

export interface TaskBackend {
  readonly kind: 'redis' | 'postgres';
  queue(name: string): TaskQueue;
  worker(name: string, processor: Processor<TaskJobData, unknown, string>, opts: Omit<WorkerOptions, 'connection'>): TaskWorker;
  queueEvents(name: string): TaskQueueEvents;
  /** Answers when the broker does (readiness). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface BackendOptions {
  /** A PostgreSQL URL (DATABASE_URL or the embedded server's); ignored when REDIS_URL is set. */
  readonly databaseUrl: string;
  /**
   * Connections in the task pool for queries (PostgreSQL). Default 10. Each Worker and
   * QueueEvents also keeps one connection for LISTEN; `listeners` of those are added.
   */
  readonly poolSize?: number;
  /** Expected Worker + QueueEvents instances (each holds a pooled LISTEN connection). Default 8. */
  readonly listeners?: number;
  /** This process runs workers: Redis connections must retry forever. */
  readonly forWorkers?: boolean;
  /** Where a database that needs `conveyor migrate` again is reported (PostgreSQL). */
  readonly logger?: Pick<Logger, 'warn'>;
}

/** Redis connection options from REDIS_URL; BullMQ opens (and reopens) the connections itself. */
export function redisOptions(url: string, forWorkers: boolean, name?: string): ConnectionOptions {
  const u = new URL(url);
  return {
    host: u.hostname,
    port: Number(u.port || 6379),
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    db: Number(u.pathname.slice(1) || 0),
    // Named so operators (and tests) can tell Conveyor's connections apart in CLIENT LIST.
    ...(name ? { connectionName: name } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
    // Workers wait out an outage; producers (HTTP) fail fast so the API can answer 503.
    maxRetriesPerRequest: forWorkers ? null : 1,
    enableOfflineQueue: forWorkers,
    retryStrategy: (times: number) => Math.min(50 * 2 ** times, 2_000),
  };
}

/** A pg pool whose sessions resolve BullMQ's unqualified names in schema `bullmq`. */
function bullPool(opts: BackendOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: opts.databaseUrl,
    max: (opts.poolSize ?? 10) + (opts.listeners ?? 8),
    // Fail rather than wait forever if the pool is ever exhausted.
    connectionTimeoutMillis: 10_000,
    keepAlive: true,
    idleTimeoutMillis: 30_000,
    application_name: 'conveyor-tasks',
    options: '-c search_path=bullmq,public',
  });
  pool.on('error', () => undefined); // a dropped idle connection is replaced on next use
  return pool;
}

/** Apply BullMQ's PostgreSQL migrations (schema `bullmq`) on one dedicated session. */
export async function migrateTaskEngine(databaseUrl: string): Promise<number> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const version = await runMigrations(client, 'bullmq');
    await client.query(EVENT_ID_INDEX_SQL);
    return version;
  } finally {
    await client.end();
  }
}

/** A worker started before `conveyor migrate` on PostgreSQL: stop with this, rather than retry forever. */
export class TaskEngineNotMigratedError extends ExpectedError {
  override name = 'TaskEngineNotMigratedError';
}

async function assertMigrated(databaseUrl: string): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await assertSchemaCompatibility(client, 'bullmq');
  } catch (err) {
    if (err instanceof SchemaMigrationRequiredError) {
      throw new TaskEngineNotMigratedError('the task engine has no tables in this database yet: run `conveyor migrate` first', { cause: err });
    }
    throw err;
  } finally {
    await client.end();
  }
}

/**
 * Whether the task engine's tables are there without the event index a later Conveyor added
 * (a database migrated before it): events still arrive, but each read scans the event table.
 * Reported, not fixed: building an index on a busy table belongs to `conveyor migrate`.
 */
export async function eventIndexMissing(pool: pg.Pool): Promise<boolean> {
  const { rows } = await pool.query<{ tables: boolean; indexed: boolean }>(
    `SELECT to_regclass('bullmq.event') IS NOT NULL AS tables, to_regclass('bullmq.${EVENT_ID_INDEX}') IS NOT NULL AS indexed`,
  );
  return rows[0]!.tables && !rows[0]!.indexed;
}

export async function openTaskBackend(config: Config, opts: BackendOptions): Promise<TaskBackend> {
  if (config.REDIS_URL) return redisBackend(config.REDIS_URL, opts.forWorkers ?? false, config.TASK_PREFIX);
  // Embedded mode migrates itself (one command, no separate `migrate` step), like its app tables.
  if (config.mode === 'embedded') await migrateTaskEngine(opts.databaseUrl);
  else await assertMigrated(opts.databaseUrl);
  const pool = bullPool(opts);
  if (opts.logger && (await eventIndexMissing(pool).catch(() => false))) {
    opts.logger.warn(`the task engine lacks the index ${EVENT_ID_INDEX} (this database was migrated by an older Conveyor): run \`conveyor migrate\`; until then every read of live task events scans the event table`);
  }
  return postgresBackend(pool);
}

function redisBackend(url: string, forWorkers: boolean, prefix: string): TaskBackend {
  const producer = redisOptions(url, forWorkers, `${prefix}:producer`);
  const blocking = redisOptions(url, true, `${prefix}:worker`);
  const queues = new Map<string, TaskQueue>();
  const owned: { close(): Promise<void> }[] = [];
  const queue = (name: string) => {
    let q = queues.get(name);
    if (!q) {
      q = new Queue<TaskJobData, unknown, string>(name, { connection: producer, prefix });
      q.on('error', () => undefined); // surfaced through ping() and failed calls
      queues.set(name, q);
      owned.push(q);
    }
    return q;
  };
  return {
    kind: 'redis',
    queue,
    worker(name, processor, opts) {
      const w = new Worker<TaskJobData, unknown, string>(name, processor, { ...opts, connection: blocking, prefix });
      owned.push(w);
      return w;
    },
    queueEvents(name) {
      const e = new QueueEvents(name, { connection: blocking, prefix });
      owned.push(e);
      return e;
    },
    async ping() {
      await queue('default').getJobCountByTypes('waiting');
    },
    async close() {
      await Promise.allSettled(owned.splice(0).map((o) => o.close()));
      queues.clear();
    },
  };
}

function postgresBackend(pool: pg.Pool): TaskBackend {
  const factory = createPostgresBackend as unknown as BackendFactory<IQueueBackend, pg.Pool>;
  const queues = new Map<string, TaskQueue>();
  const owned: { close(): Promise<void> }[] = [];
  const connection = pool as unknown as ConnectionOptions;
  /** BullMQ's factory, with Conveyor's correction applied to each backend it builds. */
  const corrected = (fix: (b: PostgresQueueBackend, queueName: string) => void): BackendFactory<IQueueBackend, pg.Pool> => (queueName, options, factoryOpts) => {
    const b = factory(queueName, options, factoryOpts);
    fix(b as unknown as PostgresQueueBackend, queueName);
    return b;
  };
  // Listings page through finished and delayed tasks: give them a stable order (stable-ranges.ts).
  const queueFactory = corrected(stabiliseRanges);
  const queue = (name: string) => {
    let q = queues.get(name);
    if (!q) {
      q = new Queue<TaskJobData, unknown, string>(name, { connection }, queueFactory as unknown as BackendFactory<never>) as unknown as TaskQueue;
      q.on('error', () => undefined);
      queues.set(name, q);
      owned.push(q);
    }
    return q;
  };
  // Workers wake on NOTIFY; the idle re-check is only a fallback, so it may be long.
  const drainDelay = 5;
  return {
    kind: 'postgres',
    queue,
    worker(name, processor, opts) {
      const w = new Worker<TaskJobData, unknown, string>(name, processor, { drainDelay, ...opts, connection }, factory as unknown as BackendFactory<never>) as unknown as TaskWorker;
      owned.push(w);
      return w;
    },
    queueEvents(name) {
      // Events may commit out of id order, which BullMQ's own read skips (see ordered-events.ts).
      const eventsFactory = corrected((b, queueName) => readEventsInOrder(b, queueName, { settleMs: EVENT_SETTLE_MS }));
      // BullMQ coalesces the NOTIFY of concurrent commits and may skip the last one of a burst:
      // poll every second rather than its default five.
      const e = new QueueEvents(name, { connection, blockingTimeout: 1_000 }, eventsFactory as unknown as BackendFactory<never>) as unknown as TaskQueueEvents;
      owned.push(e);
      return e;
    },
    async ping() {
      // Also tells "task engine not migrated" apart from "database down".
      await pool.query('SELECT 1 FROM bullmq.job LIMIT 0');
    },
    async close() {
      await Promise.allSettled(owned.splice(0).map((o) => o.close()));
      queues.clear();
      await pool.end();
    },
  };
}
