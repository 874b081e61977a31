/**
 * Sandboxed handlers (`--pool threads|process`): same states, retries and non-retryable
 * failures; children recycled after --max-tasks-per-child runs; a CPU-bound handler that
 * never looks at its signal is still stopped by revocation and by its time limit (its
 * child is killed and replaced).
 */
import { randomUUID } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { broker, createTaskEnv, type TaskEnv } from './harness.ts';

/** The pool's default wait between aborting a run and killing its child (src/tasks/pool.ts). */
const KILL_GRACE_MS = 1_000;

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

  /** The spinning handler's child was killed: its heartbeat file stops changing. */
  async function expectStopped(beat: string) {
    const read = () => readFile(beat, 'utf8').catch(() => '');
    await sleep(KILL_GRACE_MS + 1_000);
    const before = await read();
    await sleep(300);
    expect(await read()).toBe(before);
    await rm(beat, { force: true });
  }

  it('stops a CPU-bound handler at its time limit, then carries on with a fresh child', async () => {
    const beat = path.join(tmpdir(), `cv-beat-${randomUUID()}`);
    const spin = await env.client.enqueue('t_spin', { ms: 60_000, beat }, { timeoutMs: 1_500 }); // the limit includes a cold child's start
    expect(await env.waitFor(spin.id, ['SUCCESS', 'FAILURE'], 15_000)).toMatchObject({ state: 'FAILURE', error: 'timeout' });
    expect(await readFile(beat, 'utf8')).toMatch(/^\d+$/);
    await expectStopped(beat);
    const after = await env.client.enqueue('t_echo', { value: 2 });
    expect(await env.waitFor(after.id, ['SUCCESS', 'FAILURE'], 30_000)).toMatchObject({ state: 'SUCCESS' });
  });

  it('revokes a running CPU-bound handler', async () => {
    const beat = path.join(tmpdir(), `cv-beat-${randomUUID()}`);
    const spin = await env.client.enqueue('t_spin', { ms: 60_000, beat });
    await env.waitFor(spin.id, ['STARTED'], 15_000);
    expect((await env.client.revoke(spin.id))?.state).toBe('REVOKED');
    expect(await env.waitFor(spin.id, ['REVOKED', 'SUCCESS', 'FAILURE'], 15_000)).toMatchObject({ state: 'REVOKED' });
    await expectStopped(beat);
    const after = await env.client.enqueue('t_echo', { value: 3 });
    expect(await env.waitFor(after.id, ['SUCCESS', 'FAILURE'], 30_000)).toMatchObject({ state: 'SUCCESS' });
  });
});

describe.each(['threads', 'process'] as const)(`--max-tasks-per-child with pool %s on ${broker()}`, (pool) => {
  let env: TaskEnv;
  beforeAll(async () => {
    env = await createTaskEnv();
    await env.startWorker({ pool, concurrency: 1, maxTasksPerChild: 2 });
  });
  afterAll(async () => env?.close());

  it('retires each child after two tasks', async () => {
    const who: string[] = [];
    for (let i = 0; i < 6; i++) {
      const t = await env.client.enqueue('t_whoami', {});
      const done = await env.waitFor(t.id, ['SUCCESS', 'FAILURE'], 30_000);
      expect(done.state).toBe('SUCCESS');
      const r = done.result as { pid: number; threadId: number };
      who.push(pool === 'threads' ? `t${r.threadId}` : `p${r.pid}`);
    }
    // Runs 1-2 share a child, 3-4 the next, 5-6 the third; none is this process.
    expect(new Set(who).size).toBe(3);
    expect(who[0]).toBe(who[1]);
    expect(who[2]).toBe(who[3]);
    expect(who[4]).toBe(who[5]);
    expect(who).not.toContain(`p${process.pid}`);
  });
});
