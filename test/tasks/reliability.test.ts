/**
 * Nothing accepted is lost (at-least-once), on each backend: a worker killed with SIGKILL
 * mid-task, a graceful SIGTERM, many tasks from concurrent clients, periodic tasks with two
 * workers, and (Redis) the broker connection killed mid-run.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { Type } from 'typebox';
import { afterEach, describe, expect, it } from 'vitest';
import { defineTask } from '../../src/tasks/define.ts';
import type { AnyTask } from '../../src/tasks/define.ts';
import { TaskRegistry } from '../../src/tasks/registry.ts';
import { runs } from './fixtures/tasks.ts';
import { broker, createTaskEnv, exited, redisUrl, spawnWorker, workerStarted, type TaskEnv } from './harness.ts';

let env: TaskEnv | undefined;
const children: ReturnType<typeof spawnWorker>[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await env?.close();
  env = undefined;
});

describe(`delivery on ${broker()}`, () => {
  it('a task whose worker is SIGKILLed mid-run runs again on a restarted worker and ends SUCCESS; the worker never loads fastify', async () => {
    env = await createTaskEnv();
    const modulesFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'cvt-mods-')), 'modules.txt');
    const first = spawnWorker(env.childEnv, ['--concurrency', '2'], ['--import', './test/tasks/fixtures/record-modules.ts']);
    children.push(first);
    await workerStarted(first, env.client);
    const { id } = await env.client.enqueue('t_sleep', { ms: 2_500 });
    await env.waitFor(id, ['STARTED']);
    first.kill('SIGKILL');
    await exited(first);
    expect((await env.client.getTask(id))?.state).toBe('STARTED'); // nobody finished it

    const second = spawnWorker({ ...env.childEnv, RECORD_MODULES_FILE: modulesFile }, ['--concurrency', '2'], ['--import', './test/tasks/fixtures/record-modules.ts']);
    children.push(second);
    const done = await env.waitFor(id, ['SUCCESS', 'FAILURE'], 40_000);
    expect(done.state).toBe('SUCCESS');
    expect((done.result as { pid: number }).pid).toBe(second.pid);

    // Graceful stop: the module list is written at exit.
    second.kill('SIGTERM');
    expect(await exited(second)).toBe(0);
    const modules = readFileSync(modulesFile, 'utf8');
    expect(modules).toMatch(/src\/tasks\/worker\.ts/);
    expect(modules).not.toMatch(/node_modules\/fastify\/|src\/app\/build-app\.ts|@fastify\//);
  });

  it('SIGTERM lets a running task finish before the worker exits', async () => {
    env = await createTaskEnv();
    const w = spawnWorker(env.childEnv);
    children.push(w);
    await workerStarted(w, env.client);
    const { id } = await env.client.enqueue('t_sleep', { ms: 1_000 });
    await env.waitFor(id, ['STARTED']);
    w.kill('SIGTERM');
    expect(await exited(w)).toBe(0);
    expect((await env.client.getTask(id))?.state).toBe('SUCCESS');
  });

  const total = 10_000;
  it(`${total} tasks enqueued by 10 concurrent clients all end SUCCESS, each run and stored once`, { timeout: 240_000 }, async () => {
    // A normal lock: a short one (as the kill tests use) lets a busy embedded database look stalled.
    env = await createTaskEnv({ env: { TASK_QUEUE_LIMIT: '1000000', TASK_LOCK_MS: '30000' } });
    await env.startWorker({ concurrency: 64 });
    const clients = 10;
    const started = Date.now();
    const ids: string[][] = await Promise.all(
      Array.from({ length: clients }, async (_, c) => {
        const mine: string[] = [];
        for (let i = 0; i < total / clients; i++) mine.push((await env!.client.enqueue('t_echo', { value: c * 1_000_000 + i })).id);
        return mine;
      }),
    );
    const all = ids.flat();
    const enqueued = Date.now();
    expect(new Set(all).size).toBe(total);
    const queue = env.backend.queue(env.queue);
    const pool = env.base.data.database.pool;
    const succeeded = async () => Number((await pool.query<{ n: string }>(`SELECT count(*) AS n FROM app.tasks WHERE state = 'SUCCESS' AND id = ANY($1::uuid[])`, [all])).rows[0]!.n);
    await expect.poll(succeeded, { timeout: 200_000, interval: 250 }).toBe(total);
    console.info(`${broker()}: ${total} tasks enqueued in ${enqueued - started} ms, all SUCCESS after ${Date.now() - started} ms`);
    // Nothing left in the broker: each job was removed once its outcome was recorded.
    await expect.poll(() => queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed'), { timeout: 10_000 }).toEqual({ waiting: 0, active: 0, delayed: 0, failed: 0, completed: 0 });
    for (const id of all) expect(runs.get(id)).toBe(1);
    for (const id of all.filter((_, i) => i % Math.floor(total / 50) === 0)) {
      const t = await env.client.getTask(id);
      expect(t?.state).toBe('SUCCESS');
      expect(t?.result).toEqual({ value: t?.args && (t.args as { value: number }).value });
    }
  });

  it('a periodic task runs once per tick with two workers', { timeout: 60_000 }, async () => {
    const ticks: string[] = [];
    env = await createTaskEnv();
    const tick = defineTask({
      name: 't_tick',
      payload: Type.Object({}),
      options: { queue: env.queue, schedule: { cron: '* * * * * *' } },
      async handler(_p, ctx) {
        ticks.push(ctx.taskId);
        return null;
      },
    });
    const registry = new TaskRegistry([...env.registry.all(), tick as unknown as AnyTask]);
    await env.startWorker({ registry });
    await env.startWorker({ registry });
    await sleep(4_500);
    expect(new Set(ticks).size).toBe(ticks.length);
    expect(ticks.length).toBeGreaterThanOrEqual(3);
    expect(ticks.length).toBeLessThanOrEqual(6);
  });

  it.runIf(broker() === 'redis')('carries on when its Redis connections are killed mid-run', { timeout: 60_000 }, async () => {
    env = await createTaskEnv();
    await env.startWorker({ concurrency: 8 });
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) ids.push((await env.client.enqueue('t_sleep', { ms: 200 })).id);
    await env.waitFor(ids[0]!, ['STARTED', 'SUCCESS']);
    const admin = new Redis(redisUrl());
    try {
      const list = (await admin.client('LIST')) as string;
      const ours = list
        .split('\n')
        .filter((l) => l.includes(`name=${env!.prefix}`) || l.includes(`name=${env!.prefix.replace(/_/g, '_')}`))
        .map((l) => /id=(\d+)/.exec(l)?.[1])
        .filter((x): x is string => Boolean(x));
      expect(ours.length).toBeGreaterThan(0);
      for (const id of ours) await admin.client('KILL', 'ID', id);
    } finally {
      admin.disconnect();
    }
    for (const id of ids) expect((await env.waitFor(id, ['SUCCESS', 'FAILURE'], 30_000)).state).toBe('SUCCESS');
    // And it still takes new work after reconnecting.
    const { id } = await env.client.enqueue('t_echo', { value: 9 });
    expect((await env.waitFor(id, ['SUCCESS'], 30_000)).result).toEqual({ value: 9 });
  });
});

describe(`shutdown past the grace period on ${broker()}`, () => {
  it('returns a task still running to the queue, where another worker finishes it', { timeout: 60_000 }, async () => {
    env = await createTaskEnv({ env: { SHUTDOWN_GRACE_MS: '300' } });
    const first = await env.startWorker();
    const { id } = await env.client.enqueue('t_sleep', { ms: 1_500 });
    await env.waitFor(id, ['STARTED']);
    await first.close();
    const back = await env.client.getTask(id);
    expect(back?.state).toBe('PENDING'); // back in the queue, not FAILURE
    await env.startWorker();
    expect((await env.waitFor(id, ['SUCCESS', 'FAILURE'], 30_000)).state).toBe('SUCCESS');
  });
});
