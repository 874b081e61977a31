/**
 * Result retention in the task table (src/tasks/retention.ts): TASK_RESULT_MAX keeps the
 * newest finished tasks of each outcome and TASK_RESULT_TTL drops those older than it, by the
 * workers' periodic trim on every backend; a task declared with storeResult: false keeps no result.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Type } from 'typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineTask } from '../../src/tasks/define.ts';
import { broker, createTaskEnv, type TaskEnv } from './harness.ts';

const KEEP = 5;

async function runAll(env: TaskEnv, n: number): Promise<string[]> {
  const ids: string[] = [];
  // One at a time: an earlier result may be trimmed before a batch would be checked.
  for (let i = 0; i < n; i++) {
    const { id } = await env.client.enqueue('t_echo', { value: i });
    expect((await env.waitFor(id, ['SUCCESS', 'FAILURE'], 30_000)).state).toBe('SUCCESS');
    ids.push(id);
  }
  return ids;
}

describe(`result retention by count on ${broker()}`, () => {
  let env: TaskEnv;
  beforeAll(async () => {
    env = await createTaskEnv({ env: { TASK_RESULT_MAX: String(KEEP) } });
    await env.startWorker({ concurrency: 1, trimEveryMs: 200 });
  });
  afterAll(async () => env?.close());

  it(`keeps the newest ${KEEP} results of an outcome`, async () => {
    const ids = await runAll(env, 12);
    const completed = async () => (await env.client.listTasks({ state: 'SUCCESS', limit: 100 })).data.map((t) => t.id);
    await expect.poll(async () => (await completed()).length, { timeout: 10_000, interval: 100 }).toBe(KEEP);
    expect(await completed()).toEqual(ids.slice(-KEEP).reverse());
    // The newest survive; the oldest are gone (404 over HTTP).
    expect((await env.client.getTask(ids.at(-1)!))?.result).toEqual({ value: 11 });
    expect(await env.client.getTask(ids[0]!)).toBeUndefined();
  });
});

describe(`result retention by age, and storeResult: false, on ${broker()}`, () => {
  let env: TaskEnv;
  const quiet = defineTask({
    name: 't_quiet',
    payload: Type.Object({}),
    options: { storeResult: false },
    async handler() {
      return { secret: 'not kept' };
    },
  });
  beforeAll(async () => {
    env = await createTaskEnv({ env: { TASK_RESULT_TTL: '1' }, extraTasks: [quiet] });
    await env.startWorker({ concurrency: 1, trimEveryMs: 200 });
  });
  afterAll(async () => env?.close());

  it('drops a result once it is older than TASK_RESULT_TTL', async () => {
    const [old] = await runAll(env, 1);
    expect(await env.client.getTask(old!)).toBeDefined();
    await sleep(1_100);
    const [fresh] = await runAll(env, 1);
    await expect.poll(() => env.client.getTask(old!), { timeout: 5_000, interval: 100 }).toBeUndefined();
    expect((await env.client.getTask(fresh!))?.state).toBe('SUCCESS');
  });

  it('keeps no result for a task declared with storeResult: false', async () => {
    const { id } = await env.client.enqueue('t_quiet', {});
    const done = await env.waitFor(id, ['SUCCESS', 'FAILURE'], 30_000);
    expect(done.state).toBe('SUCCESS');
    expect(done.result ?? null).toBeNull();
  });
});
