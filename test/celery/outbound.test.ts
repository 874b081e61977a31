/**
 * Conveyor sends tasks to Python Celery workers (issue 15, outbound): `defineCeleryTask`
 * tasks from code and over HTTP run on a real `celery worker`; their records follow the
 * result backend; the message is the one Python's own `send_task` writes; revocation stops a
 * task that has not started; a transactional enqueue is sent after its commit.
 */
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { buildApp } from '../../src/app/build-app.ts';
import { loadConfig } from '../../src/config/index.ts';
import { createToken, createUser } from '../../src/modules/accounts/service.ts';
import { buildRuntime, type Runtime } from '../../src/server/runtime.ts';
import { createTestData, type TestData } from '../helpers/database.ts';
import { freePort } from '../helpers/processes.ts';
import { assertCelery, celeryUrl, freshRedis, healthy, python, redisBase, spawnConveyor, startPyWorker, TASKS_MODULE, until, type ConveyorChild, type PyWorker } from './outbound/harness.ts';
import { flaky, mul, mulParked } from './outbound/tasks.ts';

const DB = 8;
const id8 = () => randomBytes(4).toString('hex');
const prefix = `cvc_${randomBytes(4).toString('hex')}`;
let base: TestData;
let redis: Redis;
let serve: ConveyorChild;
let url: string;
let py: PyWorker;
let rt: Runtime;
let auth: Record<string, string>;

const env = () => ({
  DATABASE_URL: base.url,
  REDIS_URL: redisBase(),
  TASK_PREFIX: prefix,
  CELERY_BROKER_URL: celeryUrl(DB),
  CELERY_FOLLOW_MS: '500',
  TASK_MODULES: TASKS_MODULE,
});

async function getTask(id: string) {
  const res = await fetch(`${url}/api/tasks/${id}`, { headers: auth });
  return (await res.json()) as { task_id: string; state: string; result?: unknown; error?: string; traceback?: string; name: string; retries: number };
}
const settled = (id: string, state: string, timeoutMs = 20_000) =>
  until(`task ${id} to be ${state}`, async () => {
    const t = await getTask(id);
    return t.state === state ? t : undefined;
  }, timeoutMs);
const meta = async (id: string) => {
  const raw = await redis.get(`celery-task-meta-${id}`);
  return raw ? (JSON.parse(raw) as { status: string; result: unknown }) : undefined;
};

beforeAll(async () => {
  assertCelery();
  redis = await freshRedis(DB);
  base = await createTestData({ REDIS_URL: redisBase(), TASK_PREFIX: prefix });
  await createUser(base.data.database.db, { username: 'celery_out', password: 'correct horse battery', isStaff: true });
  auth = { authorization: `Bearer ${(await createToken(base.data.database.db, 'celery_out')).token}`, 'content-type': 'application/json' };
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  serve = spawnConveyor(['serve', '--port', String(port)], env());
  await healthy(serve, url);
  const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', ...env(), TASK_MODULES: '' });
  rt = await buildRuntime('client', { command: 'test', config, logger: pino({ level: 'silent' }) }, { include: [TASKS_MODULE] });
  py = await startPyWorker(DB, { hostname: 'out8@%h' });
});

afterAll(async () => {
  await py?.stop();
  if (rt) for (const step of rt.steps()) await step.run().catch(() => undefined);
  await serve?.stop();
  await redis?.flushdb().catch(() => undefined);
  redis?.disconnect();
  await base?.close();
});

describe('tasks sent to Python Celery workers', () => {
  it('runs a task sent from code on a Python worker; the record shows SUCCESS with the result', async () => {
    const { id, state } = await rt.tasks!.delay(mul, { x: 6, y: 7 });
    expect(state).toBe('PENDING');
    const done = await settled(id, 'SUCCESS');
    expect(done).toMatchObject({ task_id: id, name: 'py.mul', result: 42 });
    expect(await meta(id)).toMatchObject({ status: 'SUCCESS', result: 42 });
    // The worker's name comes from its events, which may arrive after the result backend said SUCCESS.
    const shown = await until('the record to name its worker', async () => {
      const t = (await (await fetch(`${url}/dashboard/api/tasks/${id}`, { headers: auth })).json()) as { origin: string; celery_worker: string | null; celery_source: string };
      return t.celery_worker ? t : undefined;
    });
    expect(shown).toMatchObject({ origin: 'celery', celery_source: 'outbound', celery_worker: expect.stringMatching(/^out8@/) });
  });

  it('runs a task sent over POST /api/tasks, positional and keyword arguments', async () => {
    const res = await fetch(`${url}/api/tasks`, { method: 'POST', headers: auth, body: JSON.stringify({ name: 'py.mul', args: { x: 2, y: 3 } }) });
    expect(res.status).toBe(202);
    const { task_id } = (await res.json()) as { task_id: string };
    expect((await settled(task_id, 'SUCCESS')).result).toBe(6);

    const greet = await fetch(`${url}/api/tasks`, { method: 'POST', headers: auth, body: JSON.stringify({ name: 'py.greet', args: { name: 'ada', greeting: 'hi' } }) });
    const g = (await greet.json()) as { task_id: string };
    expect((await settled(g.task_id, 'SUCCESS')).result).toBe('hi ada');
  });

  it('shows a failing Python task as FAILURE with its exception type, message and traceback', async () => {
    const res = await fetch(`${url}/api/tasks`, { method: 'POST', headers: auth, body: JSON.stringify({ name: 'py.fail', args: { message: 'it broke' } }) });
    const { task_id } = (await res.json()) as { task_id: string };
    const failed = await settled(task_id, 'FAILURE');
    expect(failed.error).toBe('Boom: it broke');
    const list = await fetch(`${url}/dashboard/api/tasks/${task_id}`, { headers: auth });
    const shown = (await list.json()) as { traceback?: string; origin: string };
    expect(shown.origin).toBe('celery');
    expect(shown.traceback).toMatch(/Traceback[\s\S]*raise Boom\(message\)/);

    // The dashboard's retry sends it again under the same id; the old outcome is not read back as the new one.
    const retry = await fetch(`${url}/dashboard/api/tasks/${task_id}/retry`, { method: 'POST', headers: { authorization: auth.authorization! } });
    expect(retry.status).toBe(200);
    await until('the second run to fail again', async () => (py.output().match(new RegExp(`proj.tasks.fail\\[${task_id}\\] raised`, 'g')) ?? []).length === 2);
    expect((await settled(task_id, 'FAILURE')).error).toBe('Boom: it broke');
  });

  it('follows a task Python retries: RETRY with its error, then SUCCESS with the retry counted', async () => {
    const { id } = await rt.tasks!.delay(flaky, { key: id8() });
    const retrying = await settled(id, 'RETRY');
    expect(retrying.error).toBe('Boom: first try');
    const done = await settled(id, 'SUCCESS');
    expect(done).toMatchObject({ result: 2, retries: 1 });
  });

  it("publishes the message Python's own send_task writes (headers, properties, body)", async () => {
    const { id } = await rt.tasks!.delay(mulParked, { x: 2, y: 3 }, { delayMs: 10_000, priority: 5 });
    python(DB, "from proj.tasks import app; print(app.send_task('proj.tasks.mul', args=[2, 3], queue='parked', countdown=10, expires=60, time_limit=30, soft_time_limit=20, priority=5).id)");
    // Priority 5 falls to kombu's step 3: the list `parked\x06\x163`.
    const raw = await redis.lrange('parked\x06\x163', 0, -1);
    expect(raw).toHaveLength(2);
    const [pyMsg, ours] = raw.map((r) => JSON.parse(r) as { body: string; headers: Record<string, unknown>; properties: Record<string, unknown> } & Record<string, unknown>).sort((a) => (a.headers.id === id ? 1 : -1));
    expect(ours!.headers.id).toBe(id);
    expect(Object.keys(ours!).sort()).toEqual(Object.keys(pyMsg!).sort());
    expect(Object.keys(ours!.headers).sort()).toEqual(Object.keys(pyMsg!.headers).sort());
    expect(Object.keys(ours!.properties).sort()).toEqual(Object.keys(pyMsg!.properties).sort());
    const body = (m: { body: string }) => JSON.parse(Buffer.from(m.body, 'base64').toString('utf8')) as unknown;
    expect(body(ours!)).toEqual(body(pyMsg!));
    for (const key of ['lang', 'task', 'timelimit', 'argsrepr', 'kwargsrepr', 'retries', 'group', 'parent_id', 'shadow', 'ignore_result']) expect(ours!.headers[key], key).toEqual(pyMsg!.headers[key]);
    expect(ours!.headers.root_id).toBe(id);
    const iso6 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$/;
    expect(ours!.headers.eta).toMatch(iso6);
    expect(ours!.headers.expires).toMatch(iso6);
    for (const key of ['delivery_mode', 'delivery_info', 'priority', 'body_encoding']) expect(ours!.properties[key], key).toEqual(pyMsg!.properties[key]);
    expect(ours!.properties.correlation_id).toBe(id);
    expect(ours!.properties.delivery_tag).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(ours!.properties.delivery_tag).not.toBe(pyMsg!.properties.delivery_tag);
    for (const key of ['content-type', 'content-encoding']) expect(ours![key]).toBe(pyMsg![key]);
    expect(await redis.smembers('_kombu.binding.parked')).toEqual(['parked\x06\x16\x06\x16parked']);

    // Revoked while it waits in its queue: the message leaves the queue, Python's result says REVOKED.
    const del = await fetch(`${url}/api/tasks/${id}`, { method: 'DELETE', headers: { authorization: auth.authorization! } });
    expect(del.status).toBe(200);
    expect(((await del.json()) as { state: string }).state).toBe('REVOKED');
    const left = (await redis.lrange('parked\x06\x163', 0, -1)).map((r) => (JSON.parse(r) as { headers: { id: string } }).headers.id);
    expect(left).toHaveLength(1);
    expect(left).not.toContain(id);
    expect((await meta(id))?.status).toBe('REVOKED');
  });

  it('revokes a task held for its eta: the Python worker never runs it, the record stays REVOKED', async () => {
    const { id } = await rt.tasks!.delay(mul, { x: 5, y: 5 }, { delayMs: 4_000 });
    await until('the Python worker to hold it', async () => py.output().includes(`proj.tasks.mul[${id}]`));
    const del = await fetch(`${url}/api/tasks/${id}`, { method: 'DELETE', headers: { authorization: auth.authorization! } });
    expect(((await del.json()) as { state: string }).state).toBe('REVOKED');
    await until('the worker to discard it', async () => new RegExp(`Discarding revoked task: proj.tasks.mul\\[${id}\\]`).test(py.output()), 15_000);
    await new Promise((r) => setTimeout(r, 1_500));
    expect((await meta(id))?.status).toBe('REVOKED');
    expect((await getTask(id)).state).toBe('REVOKED');
    expect(py.output()).not.toMatch(new RegExp(`Task proj.tasks.mul\\[${id}\\] succeeded`));
  });

  it('sends a task enqueued inside a transaction after the commit, and none for a rollback', async () => {
    const db = rt.data.database.db;
    const { id } = await db.transaction((tx) => rt.tasks!.delay(mul, { x: 3, y: 3 }, { tx }));
    expect((await settled(id, 'SUCCESS')).result).toBe(9);
    let rolledBack = '';
    await db
      .transaction(async (tx) => {
        rolledBack = (await rt.tasks!.delay(mul, { x: 4, y: 4 }, { tx })).id;
        throw new Error('roll back');
      })
      .catch(() => undefined);
    await new Promise((r) => setTimeout(r, 1_000));
    expect((await fetch(`${url}/api/tasks/${rolledBack}`, { headers: auth })).status).toBe(404);
    expect(await meta(rolledBack)).toBeUndefined();
  });

  it('refuses a Celery task with 503 in the contract shape when CELERY_BROKER_URL is unset', async () => {
    const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', DATABASE_URL: base.url, REDIS_URL: redisBase(), TASK_PREFIX: prefix });
    const off = await buildRuntime('client', { command: 'test', config, logger: pino({ level: 'silent' }) }, { include: [TASKS_MODULE] });
    const app = await buildApp(config, { database: off.data.database, logger: pino({ level: 'silent' }), tasks: off.tasks! });
    try {
      const res = await app.inject({ method: 'POST', url: '/api/tasks', headers: auth, payload: { name: 'py.mul', args: { x: 1, y: 2 } } });
      expect(res.statusCode).toBe(503);
      expect(res.json()).toMatchObject({ error: { code: 'unavailable', message: expect.stringMatching(/CELERY_BROKER_URL/) } });
      await expect(off.tasks!.delay(mul, { x: 1, y: 2 })).rejects.toThrow(/CELERY_BROKER_URL/);
    } finally {
      await app.close();
      for (const step of off.steps()) await step.run().catch(() => undefined);
    }
  });
});
