/**
 * What Celery users are promised and often do not get, on every backend, with real worker
 * processes: unique tasks under concurrent enqueues, transactional enqueue (a rollback leaves
 * no task; a crash between the commit and the hand-over loses none), and a chord body that
 * runs exactly once when its header finishes across two workers, one of them killed mid-way.
 */
import { sql } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { chord } from '../../src/tasks/index.ts';
import { broker, createTaskEnv, exited, spawnWorker, workerStarted, type TaskEnv } from './harness.ts';

let env: TaskEnv | undefined;
const children: ReturnType<typeof spawnWorker>[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await env?.close();
  env = undefined;
});

describe(`guarantees on ${broker()}`, () => {
  it('concurrent identical enqueues of a unique task create one; the others get it back, deduplicated', async () => {
    env = await createTaskEnv();
    const app = await env.app();
    const { headers } = await env.authHeaders();
    const send = () => app.inject({ method: 'POST', url: '/api/tasks', headers, payload: { name: 't_sleep', args: { ms: 300 }, options: { unique_key: 'report-7' } } });
    const answers = await Promise.all(Array.from({ length: 40 }, send));
    const created = answers.filter((a) => a.statusCode === 202);
    const twins = answers.filter((a) => a.statusCode === 200);
    expect(created).toHaveLength(1);
    expect(twins).toHaveLength(39);
    const id = created[0]!.json<{ task_id: string }>().task_id;
    for (const t of twins) expect(t.json()).toEqual({ task_id: id, state: expect.any(String), deduplicated: true });
    // From code, and inside the window after it finished (unique_for_ms), the same.
    await env.startWorker();
    await env.waitFor(id, ['SUCCESS']);
    expect(await env.client.enqueue('t_sleep', { ms: 1 }, { uniqueKey: 'report-7', uniqueForMs: 60_000 })).toEqual({ id, state: 'SUCCESS', deduplicated: true });
    // Without the window, a finished task no longer stands for its key.
    const next = await env.client.enqueue('t_sleep', { ms: 1 }, { uniqueKey: 'report-7' });
    expect(next.id).not.toBe(id);
    expect(next.deduplicated).toBeUndefined();
  });

  it('a task enqueued in a transaction exists only if it commits; one committed while no worker ran is handed over later', async () => {
    env = await createTaskEnv();
    const db = env.base.data.database.db;
    // Rolled back: no task, nothing in the broker.
    let rolledBack = '';
    await db
      .transaction(async (tx) => {
        rolledBack = (await env!.client.delay(env!.tasks.echo, { value: 1 }, { tx })).id;
        throw new Error('roll back');
      })
      .catch(() => undefined);
    expect(await env.client.getTask(rolledBack)).toBeUndefined();
    // Committed with no worker anywhere (the relay lives in workers): the row waits, not dispatched.
    let committed = '';
    await db.transaction(async (tx) => {
      await tx.execute(sql`SELECT 1`);
      committed = (await env!.client.delay(env!.tasks.echo, { value: 2 }, { tx })).id;
    });
    expect((await env.client.getTask(committed))?.state).toBe('PENDING');
    // A worker process starts later (a crash between commit and relay looks the same): it runs it.
    const w = spawnWorker(env.childEnv);
    children.push(w);
    await workerStarted(w, env.client);
    expect((await env.waitFor(committed, ['SUCCESS'], 30_000)).result).toEqual({ value: 2 });
    expect(await env.client.getTask(rolledBack)).toBeUndefined();
    w.kill('SIGTERM');
    await exited(w);
  });

  it('a chord body runs exactly once while its header runs on two workers and one is killed mid-way', async () => {
    env = await createTaskEnv({ env: { TASK_LOCK_MS: '1500' } });
    const workers = [spawnWorker(env.childEnv, ['--concurrency', '8']), spawnWorker(env.childEnv, ['--concurrency', '8'])];
    children.push(...workers);
    for (const w of workers) await workerStarted(w, env.client);
    const { add, sum } = env.tasks;
    const header = Array.from({ length: 60 }, (_, i) => add.s({ n: i, ms: 50 + (i % 5) * 20 }));
    const { id, tasks } = await env.client.workflow(chord(header, sum.s({})));
    // Kill one worker while the header is running: its tasks run again on the other.
    await expect.poll(async () => (await env!.client.getTask(tasks[20]!))?.state, { timeout: 20_000 }).not.toBe('PENDING');
    workers[0]!.kill('SIGKILL');
    await exited(workers[0]!);
    const body = await env.waitFor(tasks.at(-1)!, ['SUCCESS', 'FAILURE'], 60_000);
    expect(body.state).toBe('SUCCESS');
    expect(body.result).toEqual({ total: 1770, count: 60, workflow: id });
    // Exactly once: the body's row was claimed once (its attempts), and it ran in one process.
    const { rows } = await env.base.data.database.pool.query<{ attempts: number }>('SELECT attempts FROM app.tasks WHERE id = $1', [tasks.at(-1)]);
    expect(rows[0]!.attempts).toBe(1);
    expect((await env.client.getWorkflow(id))?.state).toBe('SUCCESS');
  }, 120_000);
});
