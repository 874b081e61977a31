/** Task states on each backend: success, retry then success, timeout, non-retryable, revoke, delay, priority. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTaskEnv, type TaskEnv } from './harness.ts';
import { runs } from './fixtures/tasks.ts';

let env: TaskEnv;

beforeAll(async () => {
  env = await createTaskEnv();
  await env.startWorker({ concurrency: 8 });
});
afterAll(async () => env?.close());

describe(`task engine on ${process.env.CONVEYOR_TEST_BROKER ?? 'embedded'}`, () => {
  it('runs a task to SUCCESS with its result, timestamps and retries 0', async () => {
    const { id, state } = await env.client.enqueue('t_echo', { value: 42 });
    expect(state).toBe('PENDING');
    const t = await env.waitFor(id, ['SUCCESS', 'FAILURE']);
    expect(t).toMatchObject({ state: 'SUCCESS', name: 't_echo', result: { value: 42 }, retries: 0, args: { value: 42 } });
    expect(t.startedAt).toBeInstanceOf(Date);
    expect(t.finishedAt!.getTime()).toBeGreaterThanOrEqual(t.startedAt!.getTime());
    expect(t.createdAt.getTime()).toBeLessThanOrEqual(t.startedAt!.getTime());
  });

  it('rejects unknown tasks and bad arguments, listing the fields', async () => {
    await expect(env.client.enqueue('nope', {})).rejects.toThrow(/unknown task/);
    await expect(env.client.enqueue('t_echo', { value: 'x', extra: 1 })).rejects.toMatchObject({
      issues: expect.arrayContaining([expect.objectContaining({ field: 'args.value' }), expect.objectContaining({ field: 'args.extra' })]),
    });
  });

  it('retries with backoff: RETRY, then SUCCESS', async () => {
    const { id } = await env.client.enqueue('t_flaky', { failTimes: 2 });
    const retry = await env.waitFor(id, ['RETRY', 'SUCCESS']);
    expect(retry.state).toBe('RETRY');
    expect(retry.error).toMatch(/failing attempt/);
    const done = await env.waitFor(id, ['SUCCESS', 'FAILURE']);
    expect(done).toMatchObject({ state: 'SUCCESS', retries: 2, result: { attempt: 3 } });
  });

  it('ends FAILURE after the last retry', async () => {
    const { id } = await env.client.enqueue('t_flaky', { failTimes: 10 }, { retries: 1 });
    const t = await env.waitFor(id, ['SUCCESS', 'FAILURE']);
    expect(t).toMatchObject({ state: 'FAILURE', retries: 1, error: 'failing attempt 2' });
    expect(t.traceback).toMatch(/failing attempt/);
  });

  it('does not retry a NonRetryableError', async () => {
    const { id } = await env.client.enqueue('t_fatal', {});
    const t = await env.waitFor(id, ['SUCCESS', 'FAILURE']);
    expect(t).toMatchObject({ state: 'FAILURE', retries: 0, error: 'cannot succeed' });
  });

  it('ends FAILURE `timeout` when the handler ignores its signal', async () => {
    const started = Date.now();
    const { id } = await env.client.enqueue('t_stubborn', { ms: 5_000 });
    const t = await env.waitFor(id, ['SUCCESS', 'FAILURE']);
    expect(t).toMatchObject({ state: 'FAILURE', error: 'timeout' });
    expect(Date.now() - started).toBeLessThan(4_000);
  });

  it('applies a per-call timeout_ms through the signal', async () => {
    const { id } = await env.client.enqueue('t_sleep', { ms: 5_000 }, { timeoutMs: 100 });
    expect(await env.waitFor(id, ['SUCCESS', 'FAILURE'])).toMatchObject({ state: 'FAILURE', error: 'timeout' });
  });

  it('revokes a waiting (delayed) task: it never runs', async () => {
    const { id } = await env.client.enqueue('t_sleep', { ms: 1 }, { delayMs: 60_000 });
    expect((await env.client.getTask(id))?.state).toBe('PENDING');
    const r = await env.client.revoke(id);
    expect(r?.state).toBe('REVOKED');
    await new Promise((res) => setTimeout(res, 500));
    expect((await env.client.getTask(id))?.state).toBe('REVOKED');
    expect(runs.get(id)).toBeUndefined();
  });

  it('revokes a running task: its signal is aborted', async () => {
    const { id } = await env.client.enqueue('t_sleep', { ms: 10_000 });
    await env.waitFor(id, ['STARTED']);
    const started = Date.now();
    expect((await env.client.revoke(id))?.state).toBe('REVOKED');
    const t = await env.waitFor(id, ['REVOKED']);
    expect(t.state).toBe('REVOKED');
    // The handler stopped: nothing runs on this process's worker any more.
    await expect.poll(async () => (await env.client.listWorkers()).filter((w) => w.pid === process.pid).reduce((n, w) => n + w.active, 0), { timeout: 5_000 }).toBe(0);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('refuses to revoke a finished task', async () => {
    const { id } = await env.client.enqueue('t_echo', { value: 1 });
    await env.waitFor(id, ['SUCCESS']);
    await expect(env.client.revoke(id)).rejects.toThrow(/already finished/);
  });

  it('honours delay_ms', async () => {
    const { id } = await env.client.enqueue('t_echo', { value: 7 }, { delayMs: 600 });
    await new Promise((res) => setTimeout(res, 200));
    expect((await env.client.getTask(id))?.state).toBe('PENDING');
    const t = await env.waitFor(id, ['SUCCESS']);
    expect(t.startedAt!.getTime() - t.createdAt.getTime()).toBeGreaterThanOrEqual(550);
  });

  it('lists recent tasks newest first, filtered and paginated', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await env.client.enqueue('t_echo', { value: 1000 + i })).id);
    for (const id of ids) await env.waitFor(id, ['SUCCESS']);
    const page1 = await env.client.listTasks({ name: 't_echo', state: 'SUCCESS', limit: 3 });
    expect(page1.data).toHaveLength(3);
    expect(page1.next).toBeTruthy();
    const page2 = await env.client.listTasks({ name: 't_echo', state: 'SUCCESS', limit: 3, after: page1.next! });
    const all = [...page1.data, ...page2.data].map((t) => t.id);
    expect(new Set(all).size).toBe(all.length);
    for (const id of ids) expect(all.concat((await env.client.listTasks({ name: 't_echo', limit: 1000 })).data.map((t) => t.id))).toContain(id);
    const found = await env.client.listTasks({ search: ids[0]! });
    expect(found.data.map((t) => t.id)).toEqual([ids[0]]);
  });

  it('subscribe() delivers state changes for the monitor', async () => {
    // Subscribed first: events of a task that ran before the subscription are not replayed.
    const events: { taskId: string; state: string }[] = [];
    const stop = env.client.subscribe((e) => events.push(e));
    const { id } = await env.client.enqueue('t_sleep', { ms: 200 });
    const seen = () => events.filter((e) => e.taskId === id).map((e) => e.state);
    try {
      await expect.poll(() => seen().at(-1), { timeout: 10_000 }).toBe('SUCCESS');
    } finally {
      stop();
    }
  });

  it('subscribe() events carry each task\'s name, state and retries, in order, through retry and revoke', async () => {
    const events: { id: string; name: string; state: string; result?: unknown; retries: number }[] = [];
    const stop = env.client.subscribe((e) => events.push({ id: e.taskId, name: e.name, state: e.state, result: e.result, retries: e.retries }));
    try {
      const echo = await env.client.enqueue('t_echo', { value: 42 });
      const flaky = await env.client.enqueue('t_flaky', { failTimes: 1 });
      const slow = await env.client.enqueue('t_sleep', { ms: 10_000 });
      await env.waitFor(slow.id, ['STARTED']);
      await env.client.revoke(slow.id);
      const of = (id: string) => events.filter((e) => e.id === id);
      await expect.poll(() => of(echo.id).at(-1)?.state, { timeout: 10_000 }).toBe('SUCCESS');
      await expect.poll(() => of(flaky.id).at(-1)?.state, { timeout: 10_000 }).toBe('SUCCESS');
      await expect.poll(() => of(slow.id).at(-1)?.state, { timeout: 10_000 }).toBe('REVOKED');
      // A run shorter than STARTED_AFTER_MS has no STARTED (records.test.ts checks that); a slow
      // machine may still show one, so only the order of the rest is checked here.
      const settledStates = (id: string) => of(id).map((e) => e.state).filter((s) => s !== 'PENDING' && s !== 'STARTED');
      expect(settledStates(echo.id)).toEqual(['SUCCESS']);
      expect(of(echo.id).at(-1)).toMatchObject({ name: 't_echo', retries: 0 });
      expect(settledStates(flaky.id)).toEqual(['RETRY', 'SUCCESS']);
      expect(of(flaky.id).at(-1)).toMatchObject({ name: 't_flaky', retries: 1 });
      // The result is in the record, not the event.
      expect((await env.client.getTask(flaky.id))?.result).toEqual({ attempt: 2 });
      expect(of(slow.id).at(-1)).toMatchObject({ name: 't_sleep' });
    } finally {
      stop();
    }
  });

  it('publishes heartbeats and per-minute history', async () => {
    const workers = await env.client.listWorkers();
    expect(workers.some((w) => w.online && w.pid === process.pid && w.processed > 0)).toBe(true);
    await expect.poll(async () => (await env.client.history(5)).reduce((n, m) => n + m.succeeded, 0), { timeout: 5_000 }).toBeGreaterThan(0);
    // The running totals behind /metrics.
    await expect.poll(async () => (await env.client.counters()).filter((c) => c.state === 'SUCCESS').reduce((n, c) => n + c.count, 0), { timeout: 5_000 }).toBeGreaterThan(0);
    const counts = await env.client.queueCounts();
    expect(counts.find((c) => c.queue === env.queue)).toMatchObject({ waiting: expect.any(Number), active: expect.any(Number) });
  });
});
