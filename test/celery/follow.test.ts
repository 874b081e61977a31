/**
 * Following survives restarts: a Celery task's state is read back from the result backend
 * by whichever worker-running process starts next, however many publishes it missed; and a
 * task revoked before any Python worker ran never runs.
 */
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { loadConfig } from '../../src/config/index.ts';
import { buildRuntime, type Runtime } from '../../src/server/runtime.ts';
import { createTestData, type TestData } from '../helpers/database.ts';
import { assertCelery, celeryUrl, freshRedis, redisBase, spawnConveyor, startPyWorker, TASKS_MODULE, until, type ConveyorChild, type PyWorker } from './outbound/harness.ts';
import { mul } from './outbound/tasks.ts';

const DB = 9;
const prefix = `cvf_${randomBytes(4).toString('hex')}`;
let base: TestData;
let redis: Redis;
let rt: Runtime;
let py: PyWorker | undefined;
let worker: ConveyorChild | undefined;
let second: ConveyorChild | undefined;

const env = () => ({ DATABASE_URL: base.url, REDIS_URL: redisBase(), TASK_PREFIX: prefix, CELERY_BROKER_URL: celeryUrl(DB), CELERY_FOLLOW_MS: '60000' });
const meta = async (id: string) => {
  const raw = await redis.get(`celery-task-meta-${id}`);
  return raw ? (JSON.parse(raw) as { status: string; result: unknown }) : undefined;
};

beforeAll(async () => {
  assertCelery();
  redis = await freshRedis(DB);
  base = await createTestData({ REDIS_URL: redisBase(), TASK_PREFIX: prefix });
  // A process of the user's own (conveyor/client): it sends, and follows nothing.
  const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', ...env() });
  rt = await buildRuntime('client', { command: 'test', config, logger: pino({ level: 'silent' }) }, { include: [TASKS_MODULE] });
});

afterAll(async () => {
  await py?.stop();
  await worker?.stop();
  await second?.stop();
  if (rt) for (const step of rt.steps()) await step.run().catch(() => undefined);
  await redis?.flushdb().catch(() => undefined);
  redis?.disconnect();
  await base?.close();
});

it('revokes a task before any Python worker runs; finishes the others while no follower runs; a worker started later records them', async () => {
  const tasks = rt.tasks!;
  const revoked = await tasks.delay(mul, { x: 1, y: 1 });
  const kept = await tasks.delay(mul, { x: 7, y: 8 });
  expect((await tasks.revoke(revoked.id))?.state).toBe('REVOKED');
  // Out of the queue at once: no worker will ever receive it.
  const waiting = (await redis.lrange('celery', 0, -1)).map((r) => (JSON.parse(r) as { headers: { id: string } }).headers.id);
  expect(waiting).toEqual([kept.id]);

  py = await startPyWorker(DB, { hostname: 'follow9@%h' });
  await until('Python to finish the kept task', async () => (await meta(kept.id))?.status === 'SUCCESS');
  // No Conveyor process follows yet: the record has heard nothing.
  expect((await tasks.getTask(kept.id))?.state).toBe('PENDING');

  // A Conveyor worker starts: its follower reads unfinished Celery tasks back at start.
  worker = spawnConveyor(['worker', '--include', TASKS_MODULE], env());
  const done = await until(`the record to follow\n${worker.output()}`, async () => {
    const t = await tasks.getTask(kept.id);
    return t?.state === 'SUCCESS' ? t : undefined;
  }, 30_000);
  expect(done.result).toBe(56);

  // The revoked task never ran: its result stays REVOKED, the record too (never moved back).
  await new Promise((r) => setTimeout(r, 1_000));
  expect((await meta(revoked.id))?.status).toBe('REVOKED');
  expect((await tasks.getTask(revoked.id))?.state).toBe('REVOKED');
  expect(py.output()).not.toContain(`proj.tasks.mul[${revoked.id}]`);

  // A second worker-running process follows too: both hear every publish, one records each transition.
  second = spawnConveyor(['worker', '--include', TASKS_MODULE], env());
  await until('the second worker', async () => (await tasks.listWorkers()).filter((w) => w.online && !w.celery).length === 2, 30_000);

  // Live publishes reach the running followers (their read-back is a minute away here).
  const live = await tasks.delay(mul, { x: 2, y: 21 });
  const liveDone = await until('the live result', async () => {
    const t = await tasks.getTask(live.id);
    return t?.state === 'SUCCESS' ? t : undefined;
  });
  expect(liveDone.result).toBe(42);
  // Counted once in the charts, however many followers heard it: the kept task and the live one.
  const counted = async () => Number((await base.data.database.pool.query<{ n: string }>(`SELECT coalesce(sum(succeeded), 0) AS n FROM app.task_stats_minute WHERE worker_id LIKE 'celery:%'`)).rows[0]!.n);
  await until('both counted', async () => (await counted()) >= 2);
  await new Promise((r) => setTimeout(r, 1_000));
  expect(await counted()).toBe(2);
  expect(await second.stop()).toBe(0);
  expect(await worker.stop()).toBe(0);
});
