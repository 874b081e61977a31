/**
 * One engine, three backends: BullMQ on Redis (REDIS_URL), or BullMQ's PostgreSQL backend
 * on DATABASE_URL or on the embedded database. Everything else in src/tasks speaks only
 * to the Queue/Worker/QueueEvents built here.
 *
 * Embedded PGlite is reached through pglite-socket, which shares one session among every
 * connection and does not route NOTIFY: the search_path is set once for the session, and
 * workers/QueueEvents poll every TASK_POLL_MS instead of waiting for a notification.
 */
import {
  Queue,
  QueueEvents,
  Worker,
  createPostgresBackend,
  runMigrations,
  assertSchemaCompatibility,
  SchemaMigrationRequiredError,
  type PostgresConnection,
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
  /** Embedded PGlite: no NOTIFY, one serialised session. */
  readonly embedded: boolean;
  queue(name: string): TaskQueue;
  worker(name: string, processor: Processor<TaskJobData, unknown, string>, opts: Omit<WorkerOptions, 'connection'>): TaskWorker;
  queueEvents(name: string): TaskQueueEvents;
  /**
   * Tell this process's workers of `queue` that a task is waiting. Only embedded needs it
   * (no NOTIFY there): an in-process worker then starts the task at once instead of at its
   * next poll. A no-op elsewhere.
   */
  nudge(queue: string): void;
  /** Answers when the broker does (readiness). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface BackendOptions {
  /** A PostgreSQL URL (DATABASE_URL or the embedded socket URL); ignored when REDIS_URL is set. */
  readonly databaseUrl: string;
  readonly embedded: boolean;
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
    // Honoured by PostgreSQL; pglite-socket ignores startup options (see ensureSearchPath).
    options: '-c search_path=bullmq,public',
  });
  pool.on('error', () => undefined); // a dropped idle connection is replaced on next use
  return pool;
}

async function ensureSearchPath(pool: pg.Pool): Promise<void> {
  // The embedded session is shared by every socket connection, so one SET covers them all.
  await pool.query('SET search_path TO bullmq, public');
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
export class TaskEngineNotMigratedError extends Error {
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
  if (opts.embedded) await migrateTaskEngine(opts.databaseUrl);
  else if (opts.forWorkers) await assertMigrated(opts.databaseUrl);
  const pool = bullPool(opts);
  if (opts.embedded) await ensureSearchPath(pool);
  else if (opts.logger && (await eventIndexMissing(pool).catch(() => false))) {
    opts.logger.warn(`the task engine lacks the index ${EVENT_ID_INDEX} (this database was migrated by an older Conveyor): run \`conveyor migrate\`; until then every read of live task events scans the event table`);
  }
  return postgresBackend(pool, opts.embedded, config.TASK_POLL_MS);
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
    embedded: false,
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
    nudge: () => undefined,
    async ping() {
      await queue('default').getJobCountByTypes('waiting');
    },
    async close() {
      await Promise.allSettled(owned.splice(0).map((o) => o.close()));
      queues.clear();
    },
  };
}

/**
 * A worker that never blocks longer than one poll period. BullMQ sleeps until the next
 * delayed job is due, trusting NOTIFY to wake it for new work; without NOTIFY (embedded)
 * a task queued meanwhile would wait that long.
 */
class PollingWorker extends Worker<TaskJobData, unknown, string> {
  override get maximumBlockTimeout(): number {
    return (this.opts as WorkerOptions).drainDelay ?? 0.1;
  }
}

function postgresBackend(pool: pg.Pool, embedded: boolean, pollMs: number): TaskBackend {
  const factory = createPostgresBackend as unknown as BackendFactory<IQueueBackend, pg.Pool>;
  const queues = new Map<string, TaskQueue>();
  const owned: { close(): Promise<void> }[] = [];
  const local = new Map<string, TaskWorker[]>();
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
  // Without NOTIFY (embedded), an idle worker re-checks every pollMs; with it, the wait is
  // only a fallback, so it may be long.
  const drainDelay = embedded ? pollMs / 1000 : 5;
  return {
    kind: 'postgres',
    embedded,
    queue,
    worker(name, processor, opts) {
      const Ctor = embedded ? PollingWorker : Worker<TaskJobData, unknown, string>;
      const w = new Ctor(name, processor, { drainDelay, ...opts, connection }, factory as unknown as BackendFactory<never>) as unknown as TaskWorker;
      owned.push(w);
      if (embedded) {
        const list = local.get(name) ?? [];
        list.push(w);
        local.set(name, list);
      }
      return w;
    },
    queueEvents(name) {
      // PGlite runs one transaction at a time, so its events commit in id order: BullMQ's own
      // read is exact there. On PostgreSQL they may not (see ordered-events.ts).
      const eventsFactory = embedded ? factory : corrected((b, queueName) => readEventsInOrder(b, queueName, { settleMs: EVENT_SETTLE_MS }));
      // BullMQ coalesces the NOTIFY of concurrent commits and may skip the last one of a burst:
      // poll every second rather than its default five.
      const e = new QueueEvents(name, { connection, blockingTimeout: embedded ? pollMs : 1_000 }, eventsFactory as unknown as BackendFactory<never>) as unknown as TaskQueueEvents;
      owned.push(e);
      return e;
    },
    nudge(name) {
      for (const w of local.get(name) ?? []) {
        // The worker waits for a NOTIFY on its LISTEN client; deliver the one the socket drops.
        const conn = (w.getBackend() as unknown as { connection?: PostgresConnection }).connection;
        // A closed worker's connection would check a new LISTEN client out of the pool and
        // never give it back, and pool.end() would then wait for it forever.
        if (!conn || conn.isClosing) continue;
        void conn.getListenClient().then((c) => (c as unknown as NodeJS.EventEmitter).emit('notification', { channel: 'bullmq_jobs', payload: name }), () => undefined);
      }
    },
    async ping() {
      // Also tells "task engine not migrated" apart from "database down".
      await pool.query('SELECT 1 FROM bullmq.job LIMIT 0');
    },
    async close() {
      await Promise.allSettled(owned.splice(0).map((o) => o.close()));
      queues.clear();
      local.clear();
      await pool.end();
    },
  };
}
