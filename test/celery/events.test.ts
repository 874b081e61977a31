/**
 * One monitor for both (Flower's job): `conveyor monitor` follows a Celery cluster's events
 * (`celery worker -E`). The Python worker shows in the workers list beside Conveyor's, its
 * tasks as task records with their outcome; the history outlives a monitor restart; the
 * worker goes offline when it stops.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { createToken, createUser } from '../../src/modules/accounts/service.ts';
import { createTestData, type TestData } from '../helpers/database.ts';
import { freePort } from '../helpers/processes.ts';
import { assertCelery, celeryUrl, freshRedis, healthy, python, redisBase, spawnConveyor, startPyWorker, until, type ConveyorChild, type PyWorker } from './outbound/harness.ts';

const DB = 10;
const HOST = 'ev10@celerytest';
const prefix = `cve_${randomBytes(4).toString('hex')}`;
let base: TestData;
let redis: Redis;
let monitor: { proc: ConveyorChild; url: string } | undefined;
let py: PyWorker | undefined;
let auth: Record<string, string>;

interface Worker { id: string; host: string; pid: number; kind: string; online: boolean; active: number; processed: number; loadavg: number[] | null; heartbeat_s: number | null }
interface Task { task_id: string; name: string; state: string; origin: string; celery_worker: string | null; args: unknown; result?: unknown; error?: string; runtime_ms: number | null }

async function startMonitor() {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const proc = spawnConveyor(['monitor', '--port', String(port)], { DATABASE_URL: base.url, REDIS_URL: redisBase(), TASK_PREFIX: prefix, CELERY_BROKER_URL: celeryUrl(DB), CELERY_FOLLOW_MS: '1000' });
  await healthy(proc, url);
  // Subscribed once the log says so is not promised; the events of a worker already running come every 2 s anyway.
  return { proc, url };
}
const api = async <T>(path: string): Promise<T> => {
  const res = await fetch(`${monitor!.url}/dashboard/api${path}`, { headers: auth });
  if (!res.ok) throw new Error(`${path}: ${res.status}`);
  return (await res.json()) as T;
};
const celeryWorker = async () => (await api<{ data: Worker[] }>('/workers')).data.find((w) => w.host === HOST);
const tasksOf = async () => (await api<{ data: Task[] }>('/tasks?search=proj.tasks&limit=50')).data;

beforeAll(async () => {
  assertCelery();
  redis = await freshRedis(DB);
  base = await createTestData({ REDIS_URL: redisBase(), TASK_PREFIX: prefix });
  await createUser(base.data.database.db, { username: 'flower', password: 'correct horse battery', isStaff: true });
  auth = { authorization: `Bearer ${(await createToken(base.data.database.db, 'flower')).token}` };
  monitor = await startMonitor();
});

afterAll(async () => {
  await py?.stop();
  await monitor?.proc.stop();
  await redis?.flushdb().catch(() => undefined);
  redis?.disconnect();
  await base?.close();
});

it('lists a Celery worker and its tasks from the events, keeps the history across a monitor restart, and marks the worker offline when it stops', async () => {
  py = await startPyWorker(DB, { hostname: HOST });
  const online = await until('the Celery worker in the monitor', async () => {
    const w = await celeryWorker();
    return w?.online ? w : undefined;
  });
  expect(online).toMatchObject({ id: `celery:${HOST}`, kind: 'celery', pid: py.child.pid, heartbeat_s: 2 });
  expect(online.loadavg).toHaveLength(3);

  const ids = JSON.parse(
    python(DB, [
      'import json',
      'from proj.tasks import app',
      "a = app.send_task('proj.tasks.mul', args=[2, 3])",
      "b = app.send_task('proj.tasks.fail', args=['nope'])",
      'a.get(timeout=10)',
      'b.get(timeout=10, propagate=False)',
      'print(json.dumps([a.id, b.id]))',
    ].join('\n')),
  ) as [string, string];

  const seen = await until('both tasks recorded from the events', async () => {
    const list = await tasksOf();
    const ok = list.find((t) => t.task_id === ids[0]);
    const bad = list.find((t) => t.task_id === ids[1]);
    return ok?.state === 'SUCCESS' && bad?.state === 'FAILURE' ? { ok, bad } : undefined;
  });
  expect(seen.ok).toMatchObject({ name: 'proj.tasks.mul', origin: 'celery', celery_worker: HOST, args: { args: '[2, 3]', kwargs: '{}' } });
  // The event carries Python's repr of the result ('6'); Drizzle reads a JSON string that is itself JSON back as that JSON.
  expect(String(seen.ok.result)).toBe('6');
  expect(seen.ok.runtime_ms).not.toBeNull();
  expect(seen.bad).toMatchObject({ name: 'proj.tasks.fail', origin: 'celery', error: 'proj.tasks.Boom: nope' });

  // Heartbeats carry the worker's counts; the charts count its outcomes.
  const counted = await until('processed in a heartbeat', async () => {
    const w = await celeryWorker();
    return w && w.processed >= 2 ? w : undefined;
  });
  expect(counted.kind).toBe('celery');
  const overview = await api<{ history: { succeeded: number; failed: number }[]; workers: Worker[] }>('/overview');
  expect(overview.history.reduce((n, m) => n + m.succeeded, 0)).toBeGreaterThanOrEqual(1);
  expect(overview.history.reduce((n, m) => n + m.failed, 0)).toBeGreaterThanOrEqual(1);
  expect(overview.workers.some((w) => w.kind === 'celery')).toBe(true);

  // A task finishes while no monitor runs: its events are gone, the result backend is read back.
  const slow = python(DB, "from proj.tasks import app; print(app.send_task('proj.tasks.slow', args=[4]).id)").trim();
  await until('the slow task seen, not finished', async () => ['PENDING', 'STARTED'].includes((await tasksOf()).find((t) => t.task_id === slow)?.state ?? ''));

  // The history is Conveyor's tables', not the monitor process's memory.
  expect(await monitor!.proc.stop()).toBe(0);
  await until('Python to finish the slow task', async () => JSON.parse((await redis.get(`celery-task-meta-${slow}`)) ?? '{}').status === 'SUCCESS');
  monitor = await startMonitor();
  const after = await tasksOf();
  expect(after.find((t) => t.task_id === ids[0])).toMatchObject({ state: 'SUCCESS', origin: 'celery', celery_worker: HOST });
  expect(after.find((t) => t.task_id === ids[1])).toMatchObject({ state: 'FAILURE' });
  const finished = await until('the slow task finished from the result backend', async () => {
    const t = (await tasksOf()).find((x) => x.task_id === slow);
    return t?.state === 'SUCCESS' ? t : undefined;
  });
  expect(finished).toMatchObject({ name: 'proj.tasks.slow', result: 4, celery_worker: HOST });

  // A warm shutdown says worker-offline: the monitor shows it offline at once.
  await until('the restarted monitor to hear the heartbeats', async () => (await celeryWorker())?.online === true);
  await py.stop();
  py = undefined;
  const gone = await until('the worker offline', async () => {
    const w = await celeryWorker();
    return w && !w.online ? w : undefined;
  }, 10_000);
  expect(gone.kind).toBe('celery');
});

it('marks a Celery worker killed without a word offline after twice its heartbeat frequency', async () => {
  const host = 'ev10b@celerytest';
  const killed = await startPyWorker(DB, { hostname: host });
  const find = async () => (await api<{ data: Worker[] }>('/workers')).data.find((w) => w.host === host);
  await until('the second worker online', async () => (await find())?.online === true);
  killed.child.kill('SIGKILL');
  const at = Date.now();
  await until('the killed worker offline', async () => (await find())?.online === false, 10_000);
  // Its last heartbeat was at most 2 s before the kill; offline 4 s after it.
  expect(Date.now() - at).toBeLessThan(6_000);
  await killed.stop();
});
