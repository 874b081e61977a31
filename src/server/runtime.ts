/**
 * The composition root: the one place that wires a process for its role — configuration,
 * logger, data layer, task registry (built-in tasks included), broker, task client, worker —
 * with the pool sizes each role needs, and answers the shutdown steps in their order.
 * `serve`, `worker`, `monitor` and every CLI verb start here; the HTTP stack is imported only
 * by the roles that serve HTTP (a worker never loads Fastify).
 */
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { loadConfig, loadDotEnv, type Config, type Env } from '../config/index.ts';
import { openData, type DataRuntime } from '../db/runtime.ts';
import { createLogger } from '../lib/logger.ts';
import type { ShutdownStep } from '../lib/shutdown.ts';
import { fetchDataTask } from '../modules/external/fetch-data.task.ts';
import type { TaskBackend } from '../tasks/backend.ts';
import type { CeleryPublisher } from '../tasks/celery/publish.ts';
import type { AnyTask } from '../tasks/define.ts';
import { loadTaskModules, TaskRegistry } from '../tasks/registry.ts';
import type { TaskClient } from '../tasks/task-client.ts';
import type { RunningWorker, TaskWorkerOptions } from '../tasks/worker.ts';

/** What every process has: the configuration, read once, and its logger. */
export interface Bootstrap {
  /** The CLI verb (the logger's name; recorded in the DATA_DIR lock). */
  readonly command: string;
  readonly config: Config;
  readonly logger: Logger;
}

/** dotenv, config, logger: the same start for every verb. */
export function bootstrap(command: string, overrides: Partial<Env> = {}): Bootstrap {
  loadDotEnv();
  const config = loadConfig(process.env, overrides);
  return { command, config, logger: createLogger(config, command) };
}

/** The tasks every process knows: the built-ins, then those of TASK_MODULES and `extra` modules. */
export async function buildRegistry(config: Config, extra: readonly string[] = []): Promise<TaskRegistry> {
  const registry = new TaskRegistry([fetchDataTask(config) as unknown as AnyTask]);
  return loadTaskModules(registry, [...config.taskModules, ...extra]);
}

/**
 * The roles, and what each holds open:
 * - `serve`: one process with HTTP (and, unless turned off, a worker); owns an embedded folder;
 * - `serve-http`: an HTTP process of `serve --workers N`; a client of the primary's database;
 * - `serve-primary`: the primary of `serve --workers N`: the embedded database and the worker;
 * - `worker`: tasks only; `monitor`: the dashboard; `cli`: one short job on the database;
 * - `client`: a process of the user's own (`conveyor/client`): the task client and the database.
 */
export type Role = 'serve' | 'serve-http' | 'serve-primary' | 'worker' | 'monitor' | 'cli' | 'client';

interface Sizes {
  readonly db: number;
  readonly broker: number;
}

function sizes(role: Role, config: Config, opts: { httpProcesses?: number; queues?: number; concurrency?: number }): Sizes {
  switch (role) {
    case 'serve':
      return { db: config.DB_POOL_SIZE, broker: 6 };
    case 'serve-http':
      return { db: Math.max(2, Math.ceil(config.DB_POOL_SIZE / (opts.httpProcesses ?? 1))), broker: 5 };
    case 'serve-primary':
      return { db: 6, broker: 4 };
    case 'worker':
      // The worker's writes are batched: a few connections carry any concurrency.
      return { db: 6, broker: Math.min(30, 4 + (opts.queues ?? 1) + Math.ceil((opts.concurrency ?? config.WORKER_CONCURRENCY) / 8)) };
    case 'monitor':
      return { db: Math.min(config.DB_POOL_SIZE, 5), broker: 5 };
    case 'cli':
      return { db: 2, broker: 2 };
    case 'client':
      return { db: Math.min(config.DB_POOL_SIZE, 10), broker: 4 };
  }
}

export interface RuntimeOptions {
  /** `serve --workers N`: how many HTTP processes share the pool budget. */
  readonly httpProcesses?: number;
  /** Run a task worker in this process (serve, serve-primary, worker). */
  readonly worker?: boolean;
  readonly workerOptions?: Pick<TaskWorkerOptions, 'queues' | 'concurrency' | 'pool' | 'maxTasksPerChild'>;
  /** Task modules besides TASK_MODULES (`worker --include`). */
  readonly include?: readonly string[];
  /** The CLI verb `migrate` opens a database that is not migrated yet. */
  readonly migrate?: boolean;
  /** Open no broker (CLI verbs). */
  readonly tasks?: boolean;
}

/** A process's wiring. `steps()` are its shutdown in order; `http` is added in front by the roles that serve HTTP. */
export interface Runtime extends Bootstrap {
  readonly role: Role;
  readonly data: DataRuntime;
  readonly registry: TaskRegistry;
  readonly backend?: TaskBackend;
  readonly tasks?: TaskClient;
  readonly worker?: RunningWorker;
  steps(): ShutdownStep[];
}

const ownsEmbedded = (role: Role) => role === 'serve' || role === 'serve-primary';

/**
 * Open what the role needs, in order: data → registry → broker → task client → worker. If a
 * step fails, what was opened is closed again before the error goes on.
 */
export async function buildRuntime(role: Role, base: Bootstrap, opts: RuntimeOptions = {}): Promise<Runtime> {
  const { config, logger } = base;
  const registry = await buildRegistry(config, opts.include);
  const size = sizes(role, config, { ...(opts.httpProcesses ? { httpProcesses: opts.httpProcesses } : {}), queues: opts.workerOptions?.queues?.length ?? registry.queues().length, ...(opts.workerOptions?.concurrency ? { concurrency: opts.workerOptions.concurrency } : {}) });
  const opened: ShutdownStep[] = [];
  const unwind = async () => {
    for (const step of opened.reverse()) await step.run().catch(() => undefined);
  };
  try {
    const data = await openData(config, {
      command: base.command,
      requireOwnership: ownsEmbedded(role) && config.mode === 'embedded',
      logger,
      poolSize: size.db,
      ...(opts.migrate === false ? { migrate: false } : {}),
    });
    opened.push({ name: 'database', run: () => data.close() });
    if (opts.tasks === false) return { ...base, role, data, registry, steps: () => [...opened].reverse() };

    // Celery interoperability: one publisher per process for the tasks Python workers run.
    const celeryConfig = config.celery;
    let celery: CeleryPublisher | undefined;
    if (celeryConfig) {
      const { celeryPublisher } = await import('../tasks/celery/publish.ts');
      const publisher = celeryPublisher({ brokerUrl: celeryConfig.brokerUrl, resultUrl: celeryConfig.resultBackendUrl });
      celery = publisher;
      opened.push({ name: 'celery broker', run: () => publisher.close() });
    }

    const { openTaskBackend } = await import('../tasks/backend.ts');
    const listeners = opts.worker ? (opts.workerOptions?.queues?.length ?? registry.queues().length) : 0;
    const backend = await openTaskBackend(config, { databaseUrl: data.url, poolSize: size.broker, listeners, forWorkers: opts.worker ?? false });
    const { bullTaskClient } = await import('../tasks/client.ts');
    const tasks = bullTaskClient({ config, registry, backend, database: data.database, ownsBackend: false, ...(celery ? { celery } : {}) });
    opened.push({ name: 'queues', run: async () => (await tasks.close(), await backend.close()) });

    let worker: RunningWorker | undefined;
    if (opts.worker) {
      const { startTaskWorker } = await import('../tasks/worker.ts');
      // Celery interoperability: results of Celery messages go to Celery's result backend
      // (the worker's observer); the consumer starts once the worker runs, and stops first.
      const inbound = celeryConfig ? await import('../tasks/celery/inbound.ts') : undefined;
      const results = celeryConfig && inbound ? inbound.celeryResults(celeryConfig.resultBackendUrl) : undefined;
      if (results) opened.push({ name: 'celery results', run: () => results.close() });
      const w = opts.workerOptions ?? {};
      worker = await startTaskWorker({
        config,
        backend,
        registry,
        database: data.database,
        logger: role === 'worker' ? logger : logger.child({ component: 'worker' }),
        ...(w.queues?.length ? { queues: w.queues } : {}),
        ...(w.concurrency ? { concurrency: w.concurrency } : {}),
        ...(w.pool ? { pool: w.pool } : {}),
        ...(w.maxTasksPerChild !== undefined ? { maxTasksPerChild: w.maxTasksPerChild } : {}),
        sandboxProcessor: fileURLToPath(new URL('./sandbox-child.ts', import.meta.url)),
        sandboxModules: [...config.taskModules, ...(opts.include ?? [])],
        ...(results ? { observer: results } : {}),
        ...(celery ? { celery } : {}),
      });
      const running = worker;
      opened.push({ name: 'worker', run: () => running.close() });
      if (celeryConfig && inbound && results) {
        const consumer = await inbound.startCeleryConsumer({ celery: celeryConfig, registry, client: tasks, pool: data.database.pool, results, failureTtlSeconds: config.TASK_RESULT_TTL, logger: logger.child({ component: 'celery' }) });
        opened.push({ name: 'celery consumer', run: () => consumer.stop() });
      }
    }
    if (celeryConfig) {
      // Worker-running processes follow the results of the tasks sent to Celery workers.
      if (opts.worker) {
        const { startCeleryFollower } = await import('../tasks/celery/follow.ts');
        const follower = startCeleryFollower({ resultUrl: celeryConfig.resultBackendUrl, database: data.database, logger, ttlSeconds: config.TASK_RESULT_TTL, everyMs: config.CELERY_FOLLOW_MS });
        opened.push({ name: 'celery result follower', run: () => follower.stop() });
      }
      // The processes that serve the dashboard follow the Celery cluster's events.
      if (celeryConfig.events && (role === 'monitor' || role === 'serve' || role === 'serve-primary')) {
        const { startCeleryEvents } = await import('../tasks/celery/events.ts');
        const events = startCeleryEvents({ brokerUrl: celeryConfig.brokerUrl, resultUrl: celeryConfig.resultBackendUrl, database: data.database, logger, ttlSeconds: config.TASK_RESULT_TTL, readBackMs: config.CELERY_FOLLOW_MS });
        opened.push({ name: 'celery events', run: () => events.stop() });
      }
    }
    return { ...base, role, data, registry, backend, tasks, ...(worker ? { worker } : {}), steps: () => [...opened].reverse() };
  } catch (err) {
    await unwind();
    throw err;
  }
}

/** A CLI verb's one short job on the database (createuser, seed, …), closed afterwards whatever happens. */
export async function withDatabase<T>(command: string, job: (rt: Runtime) => Promise<T>, opts: Pick<RuntimeOptions, 'migrate'> = {}): Promise<T> {
  const rt = await buildRuntime('cli', bootstrap(command), { tasks: false, ...opts });
  try {
    return await job(rt);
  } finally {
    for (const step of rt.steps()) await step.run();
  }
}
