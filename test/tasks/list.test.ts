/**
 * Listing every retained task (GET /api/tasks, listTasks) on each backend: a keyset over the
 * task table, so following `next` reaches each task exactly once, newest first, with the
 * filters applied, whatever changes between two requests.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app/build-app.ts';
import { decodeCursor } from '../../src/tasks/index.ts';
import type { ListTasksQuery, TaskPage, TaskRecord } from '../../src/tasks/index.ts';
import { createTaskEnv, type TaskEnv } from './harness.ts';

const BATCH = 100;
const FINISHED_BATCHES = 6;
const WAITING_BATCHES = 4;

let env: TaskEnv;
let app: App;
let staff: { headers: Record<string, string>; userId: number };
let user: { headers: Record<string, string>; userId: number };
/** Every task, in creation order. */
const created: string[] = [];
const succeeded = new Set<string>();
const failed = new Set<string>();
const pending = new Set<string>();
const mine = new Set<string>();
let middle: Date;

beforeAll(async () => {
  env = await createTaskEnv({ env: { TASK_QUEUE_LIMIT: '100000' } });
  app = await env.app();
  staff = await env.authHeaders({ staff: true });
  user = await env.authHeaders();
  const worker = await env.startWorker();
  for (let b = 0; b < FINISHED_BATCHES + WAITING_BATCHES; b++) {
    if (b === FINISHED_BATCHES) {
      await worker.close(); // the rest wait
      middle = new Date();
      await sleep(5);
    }
    // One at a time within a batch: creation order is then known exactly.
    for (let i = 0; i < BATCH; i++) {
      const fatal = i % 10 === 9;
      const who = i % 25 === 0 ? { createdBy: user.userId } : {};
      const { id } = fatal ? await env.client.enqueue('t_fatal', {}, who) : await env.client.enqueue('t_echo', { value: b * BATCH + i }, who);
      created.push(id);
      if (who.createdBy) mine.add(id);
      if (b >= FINISHED_BATCHES) pending.add(id);
      else (fatal ? failed : succeeded).add(id);
    }
    if (b < FINISHED_BATCHES) for (const id of created.slice(-BATCH)) await env.waitFor(id, ['SUCCESS', 'FAILURE']);
  }
}, 240_000);
afterAll(async () => { await env?.close(); });

const ids = (ts: readonly { id: string }[]) => ts.map((t) => t.id);

/** Follow `next` to the end. */
async function all(q: ListTasksQuery, page: (q: ListTasksQuery) => Promise<TaskPage> = (x) => env.client.listTasks(x)): Promise<{ tasks: TaskRecord[]; pages: TaskPage[] }> {
  const tasks: TaskRecord[] = [];
  const pages: TaskPage[] = [];
  let after: string | undefined = q.after;
  for (let i = 0; i < 10_000; i++) {
    const p = await page({ ...q, ...(after ? { after } : {}) });
    pages.push(p);
    tasks.push(...p.data);
    if (!p.next) return { tasks, pages };
    after = p.next;
  }
  throw new Error('listing did not end');
}

const order = (list: readonly string[]) => list.filter((id) => created.includes(id));
const newestFirst = (set: Set<string>) => [...created].reverse().filter((id) => set.has(id));

describe(`listing every task on ${process.env.CONVEYOR_TEST_BROKER ?? 'embedded'}`, () => {
  it('following next reaches every task exactly once, newest first, in full pages', async () => {
    const { tasks, pages } = await all({ limit: 70 });
    expect(order(ids(tasks))).toEqual([...created].reverse());
    expect(pages.slice(0, -1).every((p) => p.data.length === 70)).toBe(true);
  });

  it('state, name, creator and time filters hold across pages', async () => {
    expect(ids((await all({ state: 'FAILURE', limit: 13 })).tasks)).toEqual(newestFirst(failed));
    expect(ids((await all({ state: 'PENDING', limit: 50 })).tasks).filter((id) => created.includes(id))).toEqual(newestFirst(pending));
    expect(ids((await all({ name: 't_fatal', state: 'FAILURE', limit: 7 })).tasks)).toEqual(newestFirst(failed));
    expect(ids((await all({ createdBy: user.userId, limit: 3 })).tasks)).toEqual(newestFirst(mine));
    expect(order(ids((await all({ createdTo: middle, limit: 100 })).tasks))).toEqual(newestFirst(new Set([...succeeded, ...failed])));
    expect(order(ids((await all({ createdFrom: middle, limit: 100 })).tasks))).toEqual(newestFirst(pending));
  });

  it('q finds text in the arguments (a literal %, _ or \\ included)', async () => {
    const v = BATCH * 2 + 17;
    // The arguments' JSON as PostgreSQL writes it: `{"value": 217}`.
    const { tasks } = await all({ q: `"value": ${v}}`, limit: 10 });
    expect(tasks.map((t) => t.args)).toEqual([{ value: v }]);
    expect((await env.client.listTasks({ q: '%', limit: 5 })).data).toEqual([]);
    expect((await env.client.listTasks({ q: '_', limit: 5 })).data).toEqual([]);
  });

  it('GET /api/tasks pages through every task over HTTP; a user sees only theirs; q, state and times filter', async () => {
    const get = async (q: Record<string, string | number>, headers: Record<string, string>) => {
      const res = await app.inject({ url: `/api/tasks?${new URLSearchParams(Object.entries(q).map(([k, v]) => [k, String(v)]))}`, headers });
      expect(res.statusCode, res.body).toBe(200);
      return res.json() as { data: { task_id: string; state: string; request_id?: string }[]; next: string | null };
    };
    const through = async (q: Record<string, string | number>, headers: Record<string, string>) => {
      const out: string[] = [];
      for (let after: string | null | undefined; after !== null; ) {
        const page = await get({ ...q, ...(after ? { after } : {}) }, headers);
        out.push(...page.data.map((t) => t.task_id));
        after = page.next;
      }
      return out;
    };
    expect(order(await through({ limit: 250 }, staff.headers))).toEqual([...created].reverse());
    expect(await through({ limit: 4 }, user.headers)).toEqual(newestFirst(mine));
    expect(await through({ limit: 4, created_by: user.userId }, staff.headers)).toEqual(newestFirst(mine));
    // Another user's filter is ignored for a non-staff caller: still only their own.
    expect(await through({ limit: 50, created_by: staff.userId }, user.headers)).toEqual(newestFirst(mine));
    expect(await through({ limit: 100, state: 'FAILURE', created_before: middle.toISOString() }, staff.headers)).toEqual(newestFirst(failed));
    expect((await get({ q: `"value": ${BATCH + 3}}`, limit: 5 }, staff.headers)).data.map((t) => t.task_id)).toEqual([created[BATCH + 3]]);
    expect((await app.inject({ url: '/api/tasks?created_after=yesterday', headers: staff.headers })).statusCode).toBe(400);
  });

  it('a malformed cursor is a 400 in the contract shape', async () => {
    const first = (await app.inject({ url: '/api/tasks?limit=5', headers: staff.headers })).json() as { next: string };
    for (const after of ['zzz', `${first.next}!`, 's', 'sZZ', Buffer.from('1700000000000_3c4f').toString('base64url'), 'not a cursor!']) {
      const res = await app.inject({ url: `/api/tasks?after=${encodeURIComponent(after)}`, headers: staff.headers });
      expect([after, res.statusCode]).toEqual([after, 400]);
      expect(res.json().error).toMatchObject({ code: 'invalid_request', details: [{ field: 'querystring.after' }] });
    }
    expect((await app.inject({ url: `/api/tasks?after=${first.next}`, headers: staff.headers })).statusCode).toBe(200);
  });

  // Last: it runs the waiting tasks.
  it('tasks created, revoked or finished between two requests neither repeat nor skip the rest', async () => {
    const first = await env.client.listTasks({ limit: 100 });
    const firstPending = await env.client.listTasks({ state: 'PENDING', limit: 100 });
    const fresh = await Promise.all(Array.from({ length: 30 }, (_, i) => env.client.enqueue('t_echo', { value: -1 - i })));
    // A listed waiting task is revoked, one not yet listed too.
    const listedWaiting = firstPending.data[10]!.id;
    const unlisted = newestFirst(pending).at(-3)!;
    await env.client.revoke(listedWaiting);
    await env.client.revoke(unlisted);
    const rest = await all({ limit: 100, after: first.next! });
    const listed = [...ids(first.data), ...ids(rest.tasks)];
    expect(order(listed)).toEqual([...created].reverse());
    for (const { id } of fresh) expect(listed).not.toContain(id);
    // Waiting tasks now run while a PENDING listing is in progress: it repeats none, and skips
    // none of those still waiting when it ends (a task never goes back to PENDING).
    const worker = await env.startWorker({ concurrency: 1 });
    await sleep(100);
    const pendingRest = await all({ state: 'PENDING', limit: 50, after: firstPending.next! });
    await worker.close();
    const seen = [...ids(firstPending.data), ...ids(pendingRest.tasks)];
    expect(seen).toHaveLength(new Set(seen).size);
    const behindCursor = new Set(ids(pendingRest.tasks));
    const lastOfFirst = created.indexOf(firstPending.data.at(-1)!.id);
    for (const id of created.slice(0, lastOfFirst)) {
      if ((await env.client.getTask(id))?.state === 'PENDING') expect(behindCursor.has(id)).toBe(true);
    }
    expect((await env.client.getTask(unlisted))?.state).toBe('REVOKED');
  });
});

describe('list cursors', () => {
  it('reject what is not theirs', () => {
    for (const bad of ['', 'zzz', 's', 's-1', 'sZZZ', 's0', `s${'z'.repeat(14)}`, Buffer.from('1700000000000_x').toString('base64url')]) {
      expect([bad, decodeCursor(bad)]).toEqual([bad, undefined]);
    }
    expect(decodeCursor('s1z')).toBe(71);
  });
});
