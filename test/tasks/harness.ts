/**
 * The task engine under test, on the backend the vitest project selects
 * (CONVEYOR_TEST_BROKER = redis | postgres | embedded): a fresh database per file, a
 * unique Redis prefix and queue per file, the real buildApp with the task routes, and
 * in-process or child-process workers. Unreachable servers fail the run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { buildApp, type App } from '../../src/app/build-app.ts';
import type { Env } from '../../src/config/index.ts';
import { createToken, createUser } from '../../src/modules/accounts/service.ts';
import { migrateTaskEngine, openTaskBackend, type TaskBackend } from '../../src/tasks/backend.ts';
import type { AnyTask } from '../../src/tasks/define.ts';
import { createTaskClient, type TaskClient, type TaskRecord, type TaskState } from '../../src/tasks/index.ts';
import { buildRegistry } from '../../src/server/runtime.ts';
import { fileURLToPath } from 'node:url';
import type { TaskRegistry } from '../../src/tasks/registry.ts';
import { startTaskWorker, type RunningWorker } from '../../src/tasks/worker.ts';
import { createTestData, type TestData } from '../helpers/database.ts';
import { testTasks } from './fixtures/tasks.ts';

export type Broker = 'redis' | 'postgres' | 'embedded';
export const broker = (): Broker => (process.env.CONVEYOR_TEST_BROKER as Broker | undefined) ?? 'embedded';
export const redisUrl = () => process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface TaskEnv {
  readonly broker: Broker;
  readonly base: TestData;
  readonly queue: string;
  readonly prefix: string;
  readonly tasks: ReturnType<typeof testTasks>;
  readonly registry: TaskRegistry;
  readonly backend: TaskBackend;
  readonly client: TaskClient;
  /** Env for child processes (worker CLI) reaching the same database and broker. */
  readonly childEnv: Record<string, string>;
  startWorker(opts?: { concurrency?: number; registry?: TaskRegistry; pool?: 'inline' | 'threads' | 'process'; maxTasksPerChild?: number; trimEveryMs?: number; startedAfterMs?: number }): Promise<RunningWorker>;
  app(): Promise<App>;
  authHeaders(opts?: { staff?: boolean }): Promise<{ headers: Record<string, string>; userId: number }>;
  waitFor(id: string, states: readonly TaskState[], timeoutMs?: number): Promise<TaskRecord>;
  close(): Promise<void>;
}

let users = 0;

export async function createTaskEnv(opts: { env?: Partial<Record<keyof Env, string>>; extraTasks?: AnyTask[] } = {}): Promise<TaskEnv> {
  const b = broker();
  const suffix = randomBytes(4).toString('hex');
  const prefix = `cvt_${suffix}`;
  const queue = `q_${suffix}`;
  const env: Partial<Record<keyof Env, string>> = {
    TASK_PREFIX: prefix,
    TASK_LOCK_MS: '1500',
    FETCH_ALLOW_PRIVATE: 'true',
    SHUTDOWN_GRACE_MS: '3000',
    ...(b === 'redis' ? { REDIS_URL: redisUrl() } : {}),
    ...opts.env,
  };
  const base = await createTestData(env);
  // Tasks on PostgreSQL need `conveyor migrate`'s task-engine tables (embedded migrates on open).
  if (base.mode !== 'embedded' && !base.config.REDIS_URL) await migrateTaskEngine(base.url);
  const tasks = testTasks(queue);
  const registry = await buildRegistry(base.config);
  for (const t of Object.values(tasks)) registry.add(t as unknown as AnyTask);
  for (const t of opts.extraTasks ?? []) registry.add(t);
  const backend = await openTaskBackend(base.config, { databaseUrl: base.url, forWorkers: true, poolSize: 8, listeners: 2 });
  const client = await createTaskClient({ config: base.config, data: base.data, registry, backend });
  const workers: RunningWorker[] = [];
  const apps: App[] = [];
  const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

  const childEnv: Record<string, string> = {
    ...Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined)),
    NODE_ENV: 'test',
    LOG_LEVEL: 'info',
    DATA_DIR: base.config.dataDir,
    TEST_TASK_QUEUE: queue,
    ...(base.config.DATABASE_URL ? { DATABASE_URL: base.config.DATABASE_URL } : {}),
  };

  return {
    broker: b,
    base,
    queue,
    prefix,
    tasks,
    registry,
    backend,
    client,
    childEnv,
    async startWorker(o = {}) {
      const w = await startTaskWorker({
        config: base.config,
        backend,
        registry: o.registry ?? registry,
        database: base.data.database,
        logger,
        concurrency: o.concurrency ?? 8,
        queues: [queue, 'default'],
        heartbeatMs: 500,
        revokePollMs: 50,
        pool: o.pool ?? 'inline',
        ...(o.maxTasksPerChild !== undefined ? { maxTasksPerChild: o.maxTasksPerChild } : {}),
        ...(o.trimEveryMs !== undefined ? { trimEveryMs: o.trimEveryMs } : {}),
        ...(o.startedAfterMs !== undefined ? { startedAfterMs: o.startedAfterMs } : {}),
        sandboxProcessor: fileURLToPath(new URL('../../src/server/sandbox-child.ts', import.meta.url)),
        sandboxModules: ['./test/tasks/fixtures/child-tasks.ts'],
      });
      workers.push(w);
      return w;
    },
    async app() {
      const app = await buildApp(base.config, { database: base.data.database, logger, tasks: client });
      await app.ready();
      apps.push(app);
      return app;
    },
    async authHeaders(o = {}) {
      const username = `tuser${process.pid}_${++users}_${suffix}`;
      const user = await createUser(base.data.database.db, { username, password: 'correct horse battery', isStaff: o.staff ?? false });
      const { token } = await createToken(base.data.database.db, username);
      return { headers: { authorization: `Bearer ${token}` }, userId: (user as { id: number }).id };
    },
    async waitFor(id, states, timeoutMs = 20_000) {
      const until = Date.now() + timeoutMs;
      let last: TaskRecord | undefined;
      while (Date.now() < until) {
        last = await client.getTask(id);
        if (last && states.includes(last.state)) return last;
        await sleep(20);
      }
      throw new Error(`task ${id} did not reach ${states.join('/')} in ${timeoutMs} ms; last: ${JSON.stringify(last)}`);
    },
    async close() {
      await Promise.allSettled(apps.map((a) => a.close()));
      await Promise.allSettled(workers.map((w) => w.close()));
      await client.close();
      await backend.close();
      await base.close();
    },
  };
}

/** `conveyor worker` in a child process, with the test tasks included. */
export function spawnWorker(env: Record<string, string>, args: string[] = [], nodeArgs: string[] = []): ChildProcess {
  const child = spawn(process.execPath, [...nodeArgs, 'src/cli.ts', 'worker', '--include', './test/tasks/fixtures/child-tasks.ts', ...args], {
    cwd: process.cwd(),
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
    if (process.env.TEST_LOG_LEVEL) process.stdout.write(d);
  });
  Object.defineProperty(child, 'output', { get: () => out });
  child.stderr?.on('data', (d: Buffer) => process.stderr.write(d));
  return child;
}

/** Resolves once the child's worker publishes its first heartbeat. */
export async function workerStarted(child: ChildProcess, client: TaskClient, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await client.listWorkers()).some((w) => w.pid === child.pid && w.online)) {
    if (child.exitCode !== null) throw new Error(`worker exited with ${child.exitCode}`);
    if (Date.now() > until) throw new Error('worker did not start');
    await sleep(50);
  }
}

export function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}
