/** Sandboxed handlers (`--pool threads|process`): same states, retries and non-retryable failures. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { broker, createTaskEnv, type TaskEnv } from './harness.ts';

describe.each(['threads', 'process'] as const)(`sandboxed pool %s on ${broker()}`, (pool) => {
  let env: TaskEnv;
  beforeAll(async () => {
    env = await createTaskEnv();
    await env.startWorker({ pool, concurrency: 2 });
  });
  afterAll(async () => env?.close());

  it('runs tasks to SUCCESS, retries, and honours time limits', async () => {
    const echo = await env.client.enqueue('t_echo', { value: 11 });
    const flaky = await env.client.enqueue('t_flaky', { failTimes: 1 });
    const slow = await env.client.enqueue('t_sleep', { ms: 5_000 }, { timeoutMs: 200 });
    expect(await env.waitFor(echo.id, ['SUCCESS', 'FAILURE'], 30_000)).toMatchObject({ state: 'SUCCESS', result: { value: 11 } });
    expect(await env.waitFor(flaky.id, ['SUCCESS', 'FAILURE'], 30_000)).toMatchObject({ state: 'SUCCESS', retries: 1 });
    expect(await env.waitFor(slow.id, ['SUCCESS', 'FAILURE'], 30_000)).toMatchObject({ state: 'FAILURE', error: 'timeout' });
    const result = (await env.client.getTask(echo.id))?.result;
    expect(result).toEqual({ value: 11 });
  });
});
