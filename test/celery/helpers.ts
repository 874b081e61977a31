/**
 * The Celery interoperability tests' kit: a task environment (test/tasks/harness.ts) whose
 * config points CELERY_* at one Redis database of this file's own (1–7: kombu's unacked keys
 * are per database), an in-process worker wired as the composition root wires it (results as
 * the observer, then the consumer), and the Python side (client.py) run with /usr/bin/python3.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import pino from 'pino';
import type { AnyTask } from '../../src/tasks/define.ts';
import { celeryResults, startCeleryConsumer, type CeleryConsumer, type CeleryResults } from '../../src/tasks/celery/inbound.ts';
import { startTaskWorker, type RunningWorker } from '../../src/tasks/worker.ts';
import { createTaskEnv, redisUrl, type TaskEnv } from '../tasks/harness.ts';
import { celeryTasks } from './fixtures/tasks.ts';

const run = promisify(execFile);
export const PYTHON = '/usr/bin/python3';
export const CELERY_QUEUE = 'conveyor';

/** client.py's operations against one broker and queue, answered in order. */
export function pyClient(brokerUrl: string, queue: string) {
  return async <T = Record<string, unknown>>(ops: readonly Record<string, unknown>[]): Promise<T[]> => {
    const { stdout } = await run(PYTHON, [path.join(import.meta.dirname, 'python', 'client.py'), brokerUrl, queue, JSON.stringify(ops)], { timeout: 60_000 });
    return JSON.parse(stdout) as T[];
  };
}

export interface CeleryEnv extends TaskEnv {
  readonly db: number;
  readonly brokerUrl: string;
  readonly redis: Redis;
  readonly runsFile: string;
  readonly celery: ReturnType<typeof celeryTasks>;
  /** Operations of client.py, answered in order. */
  py<T = Record<string, unknown>>(ops: readonly Record<string, unknown>[]): Promise<T[]>;
  /** A worker wired like `conveyor worker` with CELERY_BROKER_URL set. */
  startCeleryWorker(o?: { concurrency?: number }): Promise<{ worker: RunningWorker; consumer: CeleryConsumer; results: CeleryResults; stop(): Promise<void> }>;
  /** Lines appended by the fixture tasks' runs. */
  runs(): string[];
}

export async function createCeleryEnv(db: number, opts: { env?: Record<string, string> } = {}): Promise<CeleryEnv> {
  const brokerUrl = `${redisUrl()}/${db}`;
  const redis = new Redis(brokerUrl, { maxRetriesPerRequest: 2 });
  await redis.flushdb(); // this file's own database
  const runsFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'conveyor-celery-')), 'runs.log');
  const probe = await run(PYTHON, ['-c', 'import celery, kombu, redis; print(celery.__version__)']).catch((err: unknown) => {
    throw new Error(`python3-celery is needed for these tests (${PYTHON}): ${(err as Error).message}`);
  });
  if (!probe.stdout.trim()) throw new Error('python3-celery did not answer');
  const base = await createTaskEnv({
    env: { CELERY_BROKER_URL: brokerUrl, CELERY_QUEUES: CELERY_QUEUE, CELERY_VISIBILITY_TIMEOUT: '3', ...opts.env },
  });
  const celery = celeryTasks(base.queue);
  for (const t of Object.values(celery)) base.registry.add(t as unknown as AnyTask);
  process.env.CELERY_TEST_RUNS = runsFile;
  const started: { stop(): Promise<void> }[] = [];
  const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  return Object.assign(Object.create(null) as object, base, {
    db,
    brokerUrl,
    redis,
    runsFile,
    celery,
    childEnv: { ...base.childEnv, CELERY_BROKER_URL: brokerUrl, CELERY_QUEUES: CELERY_QUEUE, CELERY_VISIBILITY_TIMEOUT: base.base.config.celery!.visibilityTimeoutS.toString(), CELERY_TEST_RUNS: runsFile, ...opts.env },
    py: pyClient(brokerUrl, CELERY_QUEUE),
    async startCeleryWorker(o: { concurrency?: number } = {}) {
      const config = base.base.config;
      const results = celeryResults(config.celery!.resultBackendUrl);
      const worker = await startTaskWorker({
        config,
        backend: base.backend,
        registry: base.registry,
        database: base.base.data.database,
        logger,
        concurrency: o.concurrency ?? 8,
        queues: [base.queue, 'default'],
        heartbeatMs: 500,
        revokePollMs: 50,
        observer: results,
      });
      const consumer = await startCeleryConsumer({ celery: config.celery!, registry: base.registry, client: base.client, pool: base.base.data.database.pool, results, logger });
      const handle = {
        worker,
        consumer,
        results,
        stop: async () => {
          await consumer.stop();
          await worker.close();
          await results.close();
        },
      };
      started.push(handle);
      return handle;
    },
    runs: () => (existsSync(runsFile) ? readFileSync(runsFile, 'utf8').split('\n').filter(Boolean) : []),
    async close() {
      await Promise.allSettled(started.map((s) => s.stop()));
      await base.close();
      await redis.flushdb().catch(() => undefined);
      redis.disconnect();
    },
  }) as CeleryEnv;
}

/** Celery's stored state of a task id (celery-task-meta-<id>), parsed. */
export async function storedMeta(redis: Redis, id: string): Promise<{ status: string; result: unknown; task_id: string } | undefined> {
  const raw = await redis.get(`celery-task-meta-${id}`);
  return raw ? (JSON.parse(raw) as { status: string; result: unknown; task_id: string }) : undefined;
}
