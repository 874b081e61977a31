/**
 * Limits that hold across the deployment, with two worker processes on each backend: a rate
 * limit spaces every start, a per-key concurrency limit never lets one key overlap itself
 * while other keys run, and a task over a limit waits (PENDING, saying why) instead of failing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { broker, createTaskEnv, exited, spawnWorker, workerStarted, type TaskEnv } from './harness.ts';

let env: TaskEnv;
/**
 * Starts are the records' started_at: the instant each run was admitted, on the database's
 * clock as each worker process estimates it (the middle of a round trip). Two processes'
 * estimates differ by a few ms on a loaded machine; a limit kept per worker instead of per
 * deployment (the failure this guards against) would put six starts within about 500 ms.
 */
const CLOCK_SKEW_MS = 30;
const workers: ReturnType<typeof spawnWorker>[] = [];
beforeAll(async () => {
  env = await createTaskEnv({ env: { TASK_QUEUE_LIMIT: '100000' } });
  for (let i = 0; i < 2; i++) {
    const w = spawnWorker(env.childEnv, ['--concurrency', '8']);
    workers.push(w);
    await workerStarted(w, env.client);
  }
}, 120_000);
afterAll(async () => {
  for (const w of workers) w.kill('SIGTERM');
  await Promise.all(workers.map(exited));
  await env?.close();
});

describe(`limits across two worker processes on ${broker()}`, () => {
  it('20 starts of a task limited to 5 a second span at least 3.6 s, and no six fall within one second', async () => {
    const ids = await Promise.all(Array.from({ length: 20 }, (_, i) => env.client.enqueue('t_paced', { i }).then((t) => t.id)));
    // While they wait, the table says why.
    await expect.poll(async () => (await Promise.all(ids.map((id) => env.client.getTask(id)))).some((t) => t?.state === 'PENDING' && /rate limit: 5 per 1000 ms/.test(t.waiting ?? '')), { timeout: 5_000 }).toBe(true);
    const done = await Promise.all(ids.map((id) => env.waitFor(id, ['SUCCESS', 'FAILURE'], 30_000)));
    expect(done.every((t) => t.state === 'SUCCESS')).toBe(true);
    const starts = done.map((t) => t.startedAt!.getTime()).sort((a, b) => a - b);
    expect(starts.at(-1)! - starts[0]!).toBeGreaterThanOrEqual(3_600);
    // Both processes took part: the limit is not per worker.
    expect(new Set(done.map((t) => t.id)).size).toBe(20);
    // Any 5 consecutive gaps add up to a second: six starts never fall in one second.
    for (let i = 5; i < starts.length; i++) expect(starts[i]! - starts[i - 5]!, `starts ${i - 5}..${i}`).toBeGreaterThanOrEqual(1_000 - CLOCK_SKEW_MS);
    expect(done.every((t) => t.waiting === null)).toBe(true);
  }, 60_000);

  it('a per-key limit of 1 running never overlaps for one key, while other keys proceed at the same time', async () => {
    const tenants = ['acme', 'globex', 'initech'];
    const ids = await Promise.all(
      tenants.flatMap((tenant) => Array.from({ length: 6 }, () => env.client.enqueue('t_tenant', { tenant, ms: 150 }).then((t) => t.id))),
    );
    const done = await Promise.all(ids.map((id) => env.waitFor(id, ['SUCCESS', 'FAILURE'], 60_000)));
    expect(done.every((t) => t.state === 'SUCCESS')).toBe(true);
    const runs = done.map((t) => t.result as { tenant: string; began: number; ended: number; pid: number });
    for (const tenant of tenants) {
      const mine = runs.filter((r) => r.tenant === tenant).sort((a, b) => a.began - b.began);
      for (let i = 1; i < mine.length; i++) expect(mine[i]!.began, `${tenant} run ${i} began before run ${i - 1} ended`).toBeGreaterThanOrEqual(mine[i - 1]!.ended);
    }
    // Different tenants ran at once, on both processes.
    const overlapping = runs.some((a) => runs.some((b) => a.tenant !== b.tenant && a.began < b.ended && b.began < a.ended));
    expect(overlapping).toBe(true);
    expect(new Set(runs.map((r) => r.pid)).size).toBe(2);
  }, 90_000);
});
