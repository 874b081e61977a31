/**
 * Workflows (Celery's canvas) on every backend: chains pass results along, groups and chord
 * headers run at once and hand their results in order, a chord's body runs exactly once, a
 * failure revokes everything downstream naming it, and a workflow can be revoked whole.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chain, chord, group } from '../../src/tasks/index.ts';
import type { App } from '../../src/app/build-app.ts';
import { runs } from './fixtures/tasks.ts';
import { broker, createTaskEnv, type TaskEnv } from './harness.ts';

let env: TaskEnv;
let app: App;
let auth: { headers: Record<string, string>; userId: number };
beforeAll(async () => {
  env = await createTaskEnv();
  await env.startWorker({ concurrency: 8 });
  app = await env.app();
  auth = await env.authHeaders();
});
afterAll(async () => { await env?.close(); });

async function settled(id: string, timeoutMs = 30_000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const w = await env.client.getWorkflow(id);
    if (w?.finishedAt) return w;
    if (Date.now() > until) throw new Error(`workflow ${id} did not finish: ${JSON.stringify(w?.tasks.map((t) => t.state))}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe(`workflows on ${broker()}`, () => {
  it('a chain hands each result to the next step as ctx.previous; the workflow\'s result is the last step\'s', async () => {
    const { add } = env.tasks;
    const { id, tasks } = await env.client.workflow(chain(add.s({ n: 1 }), add.s({ n: 10 }), add.s({ n: 100 })));
    expect(tasks).toHaveLength(3);
    const w = await settled(id);
    expect(w.state).toBe('SUCCESS');
    expect(w.result).toBe(111);
    expect(w.tasks.map((t) => t.result)).toEqual([1, 11, 111]);
    expect(w.tasks.every((t) => t.workflowId === id)).toBe(true);
    // Each step started only after the one before it finished.
    for (let i = 1; i < 3; i++) expect(w.tasks[i]!.startedAt!.getTime()).toBeGreaterThanOrEqual(w.tasks[i - 1]!.finishedAt!.getTime());
  });

  it('a chord\'s body runs once, after every header task, with their results in order', async () => {
    const { add, sum } = env.tasks;
    const header = Array.from({ length: 30 }, (_, i) => add.s({ n: i, ms: (30 - i) % 7 }));
    const { id, tasks } = await env.client.workflow(chord(header, sum.s({})));
    const w = await settled(id);
    expect(w.state).toBe('SUCCESS');
    expect(w.result).toEqual({ total: 435, count: 30, workflow: id });
    const body = tasks.at(-1)!;
    expect(runs.get(body)).toBe(1);
    const headerFinished = Math.max(...w.tasks.slice(0, 30).map((t) => t.finishedAt!.getTime()));
    expect(w.tasks.at(-1)!.startedAt!.getTime()).toBeGreaterThanOrEqual(headerFinished);
    // The countdown's rows (one per header) went when the body was handed over.
    const { rows } = await env.base.data.database.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM app.task_waits WHERE step = $1', [body]);
    expect(rows[0]!.n).toBe(0);
  });

  it('a waiting step has one dependency row per task it waits for; retention removes those of steps it trimmed', async () => {
    const { add, sum } = env.tasks;
    const pool = env.base.data.database.pool;
    const header = [add.s({ n: 1, ms: 400 }), add.s({ n: 2, ms: 400 })];
    const { id, tasks } = await env.client.workflow(chord(header, sum.s({})));
    const body = tasks.at(-1)!;
    const waits = async () => (await pool.query<{ upstream: string }>('SELECT upstream::text FROM app.task_waits WHERE step = $1 ORDER BY upstream', [body])).rows.map((r) => r.upstream);
    expect(await waits()).toEqual([...tasks.slice(0, 2)].sort());
    await settled(id);
    expect(await waits()).toEqual([]);
    // Rows of a step that retention has removed (a revoked step keeps its own until then).
    await pool.query('INSERT INTO app.task_waits (upstream, step) VALUES (gen_random_uuid(), gen_random_uuid())');
    const { trimWaits } = await import('../../src/tasks/records.ts');
    expect(await trimWaits(pool)).toBeGreaterThanOrEqual(1);
    expect((await pool.query('SELECT 1 FROM app.task_waits w WHERE NOT EXISTS (SELECT 1 FROM app.tasks t WHERE t.id = w.step)')).rowCount).toBe(0);
  });

  it('a group\'s result is its members\' in order; a chain after a group gets that array', async () => {
    const { add, sum } = env.tasks;
    const { id } = await env.client.workflow(chain(add.s({ n: 2 }), group(add.s({ n: 1 }), add.s({ n: 2 }), chain(add.s({ n: 3 }), add.s({ n: 4 }))), sum.s({})));
    const w = await settled(id);
    expect(w.state).toBe('SUCCESS');
    // 2 → [3, 4, 2+3+4=9] → 16
    expect(w.result).toEqual({ total: 16, count: 3, workflow: id });
    const bare = await settled((await env.client.workflow(group(add.s({ n: 5 }), add.s({ n: 6 })))).id);
    expect(bare.result).toEqual([5, 6]);
  });

  it('a step that fails after its retries ends the workflow FAILURE and revokes everything downstream, naming it', async () => {
    const { add, fatal, sum, echo } = env.tasks;
    const { id, tasks } = await env.client.workflow(
      group(chain(add.s({ n: 1 }), fatal.s({}), chord([add.s({ n: 1 }), add.s({ n: 2 })], sum.s({}))), echo.s({ value: 7 })),
    );
    const w = await settled(id);
    expect(w.state).toBe('FAILURE');
    const byId = new Map(w.tasks.map((t) => [t.id, t]));
    expect(byId.get(tasks[1]!)?.state).toBe('FAILURE');
    for (const downstream of tasks.slice(2, 5)) {
      expect(byId.get(downstream)?.state).toBe('REVOKED');
      expect(byId.get(downstream)?.error).toMatch(new RegExp(`upstream task t_fatal \\(${tasks[1]}\\) did not succeed`));
      expect(runs.get(downstream)).toBeUndefined();
    }
    // A branch that does not depend on it runs to the end.
    expect(byId.get(tasks[5]!)?.state).toBe('SUCCESS');
  });

  it('a step that succeeds on a retry lets the workflow go on', async () => {
    const { flaky, whoami } = env.tasks;
    const w = await settled((await env.client.workflow(chord([flaky.s({ failTimes: 1 }), flaky.s({ failTimes: 0 })], whoami.s({})))).id);
    expect(w.state).toBe('SUCCESS');
    expect(w.tasks[0]!.retries).toBe(1);
  });

  it('revoking a workflow revokes what has not finished; a finished one is a conflict', async () => {
    const { add, sleep: slow, whoami } = env.tasks;
    const { id, tasks } = await env.client.workflow(chain(add.s({ n: 1 }), slow.s({ ms: 10_000 }), whoami.s({})));
    await env.waitFor(tasks[1]!, ['STARTED']);
    const revoked = await env.client.revokeWorkflow(id);
    expect(revoked?.state).toBe('REVOKED');
    const w = await settled(id);
    expect(w.tasks.map((t) => t.state)).toEqual(['SUCCESS', 'REVOKED', 'REVOKED']);
    await expect(env.client.revokeWorkflow(id)).rejects.toThrow(/already finished/);
  });

  it('over HTTP: 202 with the task ids, GET with each signature\'s state, the task shows its workflow; 400s name the place', async () => {
    const post = (payload: unknown) => app.inject({ method: 'POST', url: '/api/workflows', headers: auth.headers, payload: payload as object });
    const res = await post({ chord: { header: [{ task: 't_add', args: { n: 1 } }, { task: 't_add', args: { n: 2 }, options: { retries: 1 } }], body: { task: 't_sum' } } });
    expect(res.statusCode).toBe(202);
    const accepted = res.json() as { workflow_id: string; state: string; tasks: string[] };
    expect(accepted).toMatchObject({ state: 'PENDING' });
    expect(accepted.tasks).toHaveLength(3);
    await settled(accepted.workflow_id);
    const got = await app.inject({ url: `/api/workflows/${accepted.workflow_id}`, headers: auth.headers });
    expect(got.statusCode).toBe(200);
    expect(got.json()).toMatchObject({
      workflow_id: accepted.workflow_id,
      state: 'SUCCESS',
      finished_at: expect.any(String),
      result: { total: 3, count: 2 },
      canvas: {
        chord: {
          header: [
            { task: 't_add', args: { n: 1 }, task_id: accepted.tasks[0], state: 'SUCCESS' },
            { task: 't_add', args: { n: 2 }, options: { retries: 1 }, task_id: accepted.tasks[1], state: 'SUCCESS' },
          ],
          body: { task: 't_sum', task_id: accepted.tasks[2], state: 'SUCCESS' },
        },
      },
    });
    const task = await app.inject({ url: `/api/tasks/${accepted.tasks[2]}`, headers: auth.headers });
    expect(task.json()).toMatchObject({ workflow_id: accepted.workflow_id });
    expect((await app.inject({ method: 'DELETE', url: `/api/workflows/${accepted.workflow_id}`, headers: auth.headers })).statusCode).toBe(409);

    const bad = async (payload: unknown) => {
      const r = await post(payload);
      expect(r.statusCode, JSON.stringify(payload).slice(0, 80)).toBe(400);
      return (r.json() as { error: { code: string; details: { field: string; message: string }[] } }).error;
    };
    expect((await bad({ chain: [{ task: 't_add', args: { n: 1 } }, { task: 'no_such_task' }] })).details).toEqual([{ field: 'body.chain.1.task', message: expect.stringMatching(/not a known task/) }]);
    expect((await bad({ group: [{ task: 't_add', args: { n: 'x' } }] })).details[0]).toMatchObject({ field: expect.stringMatching(/^body\.group\.0\.args\.n/) });
    expect((await bad({ chain: [] })).details[0]).toMatchObject({ field: 'body.chain', message: 'must not be empty' });
    expect((await bad({ group: Array.from({ length: 1_001 }, () => ({ task: 't_add', args: { n: 1 } })) })).details[0]).toMatchObject({ field: 'body.workflow', message: expect.stringMatching(/1001 tasks; at most 1000/) });
    let deep: unknown = { task: 't_add', args: { n: 1 } };
    for (let i = 0; i < 11; i++) deep = { chain: [deep] };
    expect((await bad(deep)).details[0]).toMatchObject({ message: expect.stringMatching(/deeper than 10/) });
    expect((await bad({ tasks: [] })).code).toBe('invalid_request');
    expect((await app.inject({ url: '/api/workflows/00000000-0000-4000-8000-000000000000', headers: auth.headers })).statusCode).toBe(404);
    expect((await app.inject({ method: 'POST', url: '/api/workflows', payload: { task: 't_add' } })).statusCode).toBe(401);
  });
});
