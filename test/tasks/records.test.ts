/**
 * The task table is the record (src/tasks/records.ts): each transition is written there and
 * announced after its commit; the row is the gate a delivery must pass before its handler
 * runs; BullMQ keeps no job once it has run. On every backend.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runs } from './fixtures/tasks.ts';
import { broker, createTaskEnv, type TaskEnv } from './harness.ts';
import type { TaskEvent } from '../../src/tasks/index.ts';

let env: TaskEnv;
beforeAll(async () => {
  env = await createTaskEnv();
  // A threshold no short run reaches even on a loaded machine (the default is 50 ms).
  await env.startWorker({ concurrency: 4, startedAfterMs: 1_000 });
});
afterAll(async () => { await env?.close(); });

describe(`the task table on ${broker()}`, () => {
  it('announces every transition once it is committed: a short run PENDING → SUCCESS, a longer one STARTED between; both with their start', async () => {
    const seen: TaskEvent[] = [];
    const stop = env.client.subscribe((e) => seen.push(e));
    const states = (id: string) => seen.filter((e) => e.taskId === id).map((e) => e.state).filter((s) => s !== 'PENDING');
    try {
      await sleep(300); // the LISTEN connection is up
      const short = await env.client.enqueue('t_echo', { value: 5 });
      const long = await env.client.enqueue('t_sleep', { ms: 2_500 });
      await env.waitFor(short.id, ['SUCCESS']);
      await env.waitFor(long.id, ['SUCCESS']);
      // PENDING may be written after a fast worker's first write (the broker has the job first): then it is not announced.
      await expect.poll(() => states(short.id), { timeout: 5_000 }).toEqual(['SUCCESS']);
      await expect.poll(() => states(long.id), { timeout: 5_000 }).toEqual(['STARTED', 'SUCCESS']);
      expect(seen.find((e) => e.taskId === short.id && e.state === 'SUCCESS')).toMatchObject({ name: 't_echo', retries: 0 });
      for (const [id, atLeastMs] of [[short.id, 0], [long.id, 2_500]] as const) {
        const rec = await env.client.getTask(id);
        // started_at is when the handler began, not when a row was written: the run's whole length lies between.
        expect(rec?.startedAt).toBeInstanceOf(Date);
        expect(rec!.finishedAt!.getTime() - rec!.startedAt!.getTime()).toBeGreaterThanOrEqual(atLeastMs - 20);
        expect(rec!.startedAt!.getTime()).toBeGreaterThanOrEqual(rec!.createdAt.getTime());
      }
    } finally {
      stop();
    }
  });

  it('a delivery of a task that already finished is refused at the gate: the handler does not run again', async () => {
    const { id } = await env.client.enqueue('t_echo', { value: 6 });
    const done = await env.waitFor(id, ['SUCCESS']);
    expect(runs.get(id)).toBe(1);
    // The same job once more (a duplicate delivery, a relay racing a finish).
    await env.backend.queue(env.queue).addBulk([{ name: 't_echo', data: { args: { value: 6 } }, opts: { jobId: id, removeOnComplete: true, removeOnFail: true } }]);
    await sleep(1_000);
    expect(runs.get(id)).toBe(1);
    expect(await env.client.getTask(id)).toEqual(done);
  });

  it('a job whose row was never written (a crash between the broker and the table) runs, and its outcome makes the row', async () => {
    const id = crypto.randomUUID();
    await env.backend.queue(env.queue).addBulk([{ name: 't_echo', data: { args: { value: 7 }, req: 'req-lost' }, opts: { jobId: id, removeOnComplete: true, removeOnFail: true } }]);
    const t = await env.waitFor(id, ['SUCCESS']);
    expect(t).toMatchObject({ name: 't_echo', args: { value: 7 }, result: { value: 7 }, requestId: 'req-lost' });
  });

  it('a job delivered while its row is still being inserted runs at once; its outcome waits for the insert and keeps what the enqueue wrote', async () => {
    const id = crypto.randomUUID();
    const writer = new pg.Client({ connectionString: env.base.url });
    await writer.connect();
    try {
      // The enqueue's insert, not committed yet; the job already in the broker.
      await writer.query('BEGIN');
      await writer.query(`INSERT INTO app.tasks (id, name, queue, state, args, request_id, dispatched) VALUES ($1, 't_echo', $2, 'PENDING', '{"value": 9}', 'req-enqueue', true)`, [id, env.queue]);
      await env.backend.queue(env.queue).addBulk([{ name: 't_echo', data: { args: { value: 9 }, req: 'req-job' }, opts: { jobId: id, removeOnComplete: true, removeOnFail: true } }]);
      await expect.poll(() => runs.get(id), { timeout: 10_000 }).toBe(1);
      await sleep(300);
      expect(await env.client.getTask(id)).toBeUndefined(); // the outcome waits on the insert
      await writer.query('COMMIT');
    } finally {
      await writer.end();
    }
    const t = await env.waitFor(id, ['SUCCESS']);
    expect(t).toMatchObject({ name: 't_echo', result: { value: 9 }, requestId: 'req-enqueue', retries: 0 });
    expect(t.startedAt!.getTime()).toBeLessThanOrEqual(t.finishedAt!.getTime());
    expect(runs.get(id)).toBe(1);
  });

  it('BullMQ keeps no job once it has run; the table keeps the record', async () => {
    const { id } = await env.client.enqueue('t_fatal', {});
    await env.waitFor(id, ['FAILURE']);
    const counts = await env.backend.queue(env.queue).getJobCounts('completed', 'failed');
    expect(counts).toEqual({ completed: 0, failed: 0 });
    expect((await env.client.getTask(id))?.state).toBe('FAILURE');
  });

  it('keeps the x-request-id of the request that enqueued it, and shows it in the task JSON', async () => {
    const app = await env.app();
    const { headers } = await env.authHeaders();
    const res = await app.inject({ method: 'POST', url: '/api/tasks', headers: { ...headers, 'x-request-id': 'req-abc-123' }, payload: { name: 't_echo', args: { value: 8 } } });
    expect(res.statusCode).toBe(202);
    const { task_id } = res.json() as { task_id: string };
    await env.waitFor(task_id, ['SUCCESS']);
    const got = await app.inject({ url: `/api/tasks/${task_id}`, headers });
    expect(got.json()).toMatchObject({ task_id, request_id: 'req-abc-123', state: 'SUCCESS' });
  });
});
