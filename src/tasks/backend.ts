/**
 * One engine, two brokers: BullMQ on Redis (REDIS_URL), or BullMQ's PostgreSQL backend on
 * DATABASE_URL or the embedded server. BullMQ only delivers, retries and schedules; what a
 * task is and how it ended lives in Conveyor's task table (table.ts), so nothing here reads
 * BullMQ's own records. Every job is removed once it has run.
 */
import {
  Queue,
  Worker,
  createPostgresBackend,
  runMigrations,
  assertSchemaCompatibility,
  SchemaMigrationRequiredError,
  type ConnectionOptions,
  type JobsOptions,
  type Processor,
  type WorkerOptions,
  type Job,
  type RepeatOptions,
} from 'bullmq';
import pg from 'pg';
import type { Config } from '../config/index.ts';
import { ExpectedError } from '../lib/errors.ts';
import { BrokerUnavailableError } from './errors.ts';
import type { TaskOrigin } from './types.ts';

/** What a job carries: enough to rebuild the task's row if it was lost (short keys: stored per job). */
export interface TaskJobData {
  readonly args: unknown;
  /** users.id of the creator. */
  readonly by?: number | null;
  /** The enqueuing request's x-request-id and trace id. */
  readonly req?: string | null;
  readonly tr?: string | null;
  /** Per-enqueue timeout override (ms). */
  readonly timeoutMs?: number;
  /** A workflow step: its workflow and `ctx.previous`. */
  readonly wf?: string | null;
  readonly prev?: unknown;
  /** A rate-limited start already reserved for this delivery (ms since the epoch). */
  readonly slot?: number;
  /** Where the task came from (a Celery message), for the worker's observer. */
  readonly origin?: TaskOrigin;
  /** Attempts made before this job existed (Celery's `retries` header). */
  readonly pre?: number;
  /** Not to be started after this (ms since the epoch). */
  readonly exp?: number;
}

export type TaskJob = Job<TaskJobData, unknown, string>;

/** The part of BullMQ's Queue the engine uses (the Redis and PostgreSQL queues differ in type only). */
export interface TaskQueue {
  addBulk(jobs: { name: string; data: TaskJobData; opts?: JobsOptions }[]): Promise<unknown>;
  remove(jobId: string): Promise<number>;
  getJobCounts(...types: string[]): Promise<Record<string, number>>;
  isPaused(): Promise<boolean>;
  upsertJobScheduler(id: string, repeat: Omit<RepeatOptions, 'key'>, template: { name: string; data: TaskJobData; opts: JobsOptions }): Promise<unknown>;
  getJobScheduler(id: string): Promise<unknown>;
  close(): Promise<void>;
}

/** The part of BullMQ's Worker the engine uses. */
export interface TaskWorker {
  on(event: 'error', listener: (err: Error) => void): unknown;
  close(force?: boolean): Promise<void>;
}

export type TaskProcessor = Processor<TaskJobData, unknown, string>;

export interface TaskBackend {
  readonly kind: 'redis' | 'postgres';
  queue(name: string): TaskQueue;
  worker(name: string, processor: TaskProcessor, opts: Omit<WorkerOptions, 'connection'>): TaskWorker;
  /** Answers when the broker does (readiness). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface BackendOptions {
  /** A PostgreSQL URL (DATABASE_URL or the embedded server's); ignored when REDIS_URL is set. */
  readonly databaseUrl: string;
  /**
   * Connections in the pool for queries (PostgreSQL). Default 10. Each Worker also keeps one
   * connection for LISTEN; `listeners` of those are added.
   */
  readonly poolSize?: number;
  /** Expected Worker instances, one per queue consumed (each holds a pooled LISTEN connection). Default 2. */
  readonly listeners?: number;
  /** This process runs workers: Redis connections must retry forever. */
  readonly forWorkers?: boolean;
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
    max: (opts.poolSize ?? 10) + (opts.listeners ?? 2),
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
    return await runMigrations(client, 'bullmq');
  } finally {
    await client.end();
  }
}

/** A process started before `conveyor migrate` on PostgreSQL: stop with this, rather than retry forever. */
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

export async function openTaskBackend(config: Config, opts: BackendOptions): Promise<TaskBackend> {
  if (config.REDIS_URL) return redisBackend(config.REDIS_URL, opts.forWorkers ?? false, config.TASK_PREFIX);
  // Embedded mode migrates itself (one command, no separate `migrate` step), like its app tables.
  if (config.mode === 'embedded') await migrateTaskEngine(opts.databaseUrl);
  else await assertMigrated(opts.databaseUrl);
  return postgresBackend(bullPool(opts));
}

/** How long a failed call waits for the broker to answer a ping before calling it unavailable. */
const PING_TIMEOUT_MS = 2_000;

async function answers(ping: () => Promise<void>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('no answer')), PING_TIMEOUT_MS)));
  try {
    await Promise.race([ping(), timeout]);
    return true;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A queue whose failures say what they mean. The client libraries report a broker that
 * cannot be reached with bare Errors (ioredis: "Connection is closed", pg-pool: a connect
 * timeout), so the failure itself is not read: a call that failed while the broker does not
 * answer a ping either is a BrokerUnavailableError (503); one that failed while it answers
 * is a real error and goes on as it is. A PostgreSQL broker without its tables is the
 * operator's to fix (`conveyor migrate`).
 */
function guarded(queue: TaskQueue, ping: () => Promise<void>): TaskQueue {
  const fail = async (err: unknown): Promise<never> => {
    if (err instanceof SchemaMigrationRequiredError) throw new TaskEngineNotMigratedError('the task engine has no tables in this database: run `conveyor migrate`', { cause: err });
    throw (await answers(ping)) ? err : new BrokerUnavailableError({ cause: err });
  };
  return {
    addBulk: (jobs) => queue.addBulk(jobs).catch(fail),
    remove: (jobId) => queue.remove(jobId).catch(fail),
    getJobCounts: (...types) => queue.getJobCounts(...types).catch(fail),
    isPaused: () => queue.isPaused().catch(fail),
    upsertJobScheduler: (id, repeat, template) => queue.upsertJobScheduler(id, repeat, template).catch(fail),
    getJobScheduler: (id) => queue.getJobScheduler(id).catch(fail),
    close: () => queue.close(),
  };
}

/** Queues made on first use and closed with the backend; `get` hands them out guarded by `ping`. */
function queueCache(make: (name: string) => TaskQueue, ping: (raw: (name: string) => TaskQueue) => Promise<void>) {
  const queues = new Map<string, { raw: TaskQueue; guarded: TaskQueue }>();
  const entry = (name: string) => {
    let q = queues.get(name);
    if (!q) {
      const raw = make(name);
      queues.set(name, (q = { raw, guarded: guarded(raw, () => ping(rawQueue)) }));
    }
    return q;
  };
  const rawQueue = (name: string) => entry(name).raw;
  return {
    get: (name: string): TaskQueue => entry(name).guarded,
    ping: () => ping(rawQueue),
    async close() {
      await Promise.allSettled([...queues.values()].map((q) => q.raw.close()));
      queues.clear();
    },
  };
}

function redisBackend(url: string, forWorkers: boolean, prefix: string): TaskBackend {
  const producer = redisOptions(url, forWorkers, `${prefix}:producer`);
  const blocking = redisOptions(url, true, `${prefix}:worker`);
  const make = (name: string) => {
    const q = new Queue<TaskJobData, unknown, string>(name, { connection: producer, prefix });
    q.on('error', () => undefined); // surfaced through ping() and failed calls
    return q;
  };
  const queues = queueCache(make, async (raw) => void (await raw('default').getJobCounts('waiting')));
  const workers: TaskWorker[] = [];
  return {
    kind: 'redis',
    queue: queues.get,
    worker(name, processor, opts) {
      const w = new Worker<TaskJobData, unknown, string>(name, processor, { ...opts, connection: blocking, prefix });
      workers.push(w);
      return w;
    },
    ping: queues.ping,
    async close() {
      await Promise.allSettled(workers.splice(0).map((w) => w.close()));
      await queues.close();
    },
  };
}

function postgresBackend(pool: pg.Pool): TaskBackend {
  // Also tells "task engine not migrated" apart from "database down".
  const ping = async () => void (await pool.query('SELECT 1 FROM bullmq.job LIMIT 0'));
  const queues = queueCache((name) => {
    const q = new Queue(name, { connection: pool }, createPostgresBackend);
    q.on('error', () => undefined);
    return q;
  }, ping);
  const workers: TaskWorker[] = [];
  return {
    kind: 'postgres',
    queue: queues.get,
    worker(name, processor, opts) {
      // Workers wake on NOTIFY; the idle re-check is only a fallback, so it may be long.
      const w = new Worker(name, processor, { drainDelay: 5, ...opts, connection: pool }, createPostgresBackend);
      workers.push(w);
      return w;
    },
    ping,
    async close() {
      await Promise.allSettled(workers.splice(0).map((w) => w.close()));
      await queues.close();
      await pool.end();
    },
  };
}
