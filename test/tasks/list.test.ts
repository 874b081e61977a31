/**
 * Listing every retained task (GET /api/tasks, listTasks) on each backend: following
 * `next` reaches each task once, newest first, with filters, while tasks keep arriving.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app/build-app.ts';
import { decodeCursor, encodeCursor, listKeys, type ListCursor } from '../../src/tasks/cursor.ts';
import { listTasks } from '../../src/tasks/list.ts';
import type { ListTasksQuery, TaskPage, TaskRecord } from '../../src/tasks/index.ts';
import { createTaskEnv, type TaskEnv } from './harness.ts';

const BATCH = 100;
/** Batches run to the end (SUCCESS, every tenth FAILURE), then batches left waiting (PENDING). */
const FINISHED_BATCHES = 8;
const WAITING_BATCHES = 5;

let env: TaskEnv;
let app: App;
let staff: { headers: Record<string, string>; userId: number };
let user: { headers: Record<string, string>; userId: number };
/** Task id → its batch: a later batch was created after every task of an earlier one. */
const batchOf = new Map<string, number>();
const succeeded = new Set<string>();
const failed = new Set<string>();
const pending = new Set<string>();
const whoami = new Set<string>();
const mine = new Set<string>();

async function finishedCount(): Promise<number> {
  const c = (await env.client.queueCounts()).find((q) => q.queue === env.queue);
  return (c?.completed ?? 0) + (c?.failed ?? 0);
}

beforeAll(async () => {
  env = await createTaskEnv({ env: { TASK_QUEUE_LIMIT: '100000' } });
  app = await env.app();
  staff = await env.authHeaders({ staff: true });
  user = await env.authHeaders();
  const worker = await env.startWorker();
  for (let b = 0; b < FINISHED_BATCHES; b++) {
    // Each batch finishes before the next is created: the completed list's finishing order
    // then agrees with creation order from one batch to the next.
    const ids = await Promise.all(
      Array.from({ length: BATCH }, async (_, i) => {
        const fatal = i % 10 === 9;
        const { id } = fatal ? await env.client.enqueue('t_fatal', {}) : await env.client.enqueue('t_echo', { value: b * BATCH + i });
        (fatal ? failed : succeeded).add(id);
        return id;
      }),
    );
    for (const id of ids) batchOf.set(id, b);
    const until = Date.now() + 20_000;
    while ((await finishedCount()) < (b + 1) * BATCH) {
      if (Date.now() > until) throw new Error(`batch ${b} did not finish`);
      await sleep(20);
    }
  }
  await worker.close();
  for (let b = FINISHED_BATCHES; b < FINISHED_BATCHES + WAITING_BATCHES; b++) {
    const ids = await Promise.all(
      Array.from({ length: BATCH }, async (_, i) => {
        const { id } =
          i % 20 === 7
            ? await env.client.enqueue('t_whoami', {}, { createdBy: user.userId })
            : await env.client.enqueue('t_echo', { value: b * BATCH + i });
        (i % 20 === 7 ? whoami : pending).add(id);
        if (i % 20 === 7) mine.add(id);
        return id;
      }),
    );
    for (const id of ids) batchOf.set(id, b);
  }
  for (const id of whoami) pending.add(id);
}, 60_000);

afterAll(async () => {
  await env?.close();
});

/** Follows `next` to the end. */
async function all(q: ListTasksQuery, list = (query: ListTasksQuery) => env.client.listTasks(query)): Promise<{ tasks: TaskRecord[]; pages: TaskPage[] }> {
  const pages: TaskPage[] = [];
  let after: string | undefined;
  do {
    const page = await list({ ...q, ...(after ? { after } : {}) });
    pages.push(page);
    after = page.next ?? undefined;
    if (pages.length > 500) throw new Error('no end');
  } while (after);
  return { tasks: pages.flatMap((p) => p.data), pages };
}

const ids = (tasks: readonly TaskRecord[]) => tasks.map((t) => t.id);

/** Newest first, as far as the test can know it: never an earlier batch before a later one. */
function expectNewestFirst(tasks: readonly TaskRecord[]) {
  const batches = tasks.map((t) => batchOf.get(t.id) ?? Infinity);
  for (let i = 1; i < batches.length; i++) {
    if (batches[i]! > batches[i - 1]!) throw new Error(`task ${i} (batch ${batches[i]}) comes after one of batch ${batches[i - 1]}`);
  }
}

describe(`listing every task on ${process.env.CONVEYOR_TEST_BROKER ?? 'embedded'}`, () => {
  it('following next reaches every task exactly once, newest first', async () => {
    const total = (FINISHED_BATCHES + WAITING_BATCHES) * BATCH;
    const { tasks, pages } = await all({ limit: 100 });
    expect(ids(tasks)).toHaveLength(total);
    expect(new Set(ids(tasks))).toEqual(new Set(batchOf.keys()));
    expect(pages).toHaveLength(total / 100);
    for (const p of pages) expect(p.data).toHaveLength(100);
    expectNewestFirst(tasks);
    // The waiting tasks were all created after the finished ones.
    expect(new Set(ids(tasks.slice(0, pending.size)))).toEqual(pending);
    // Two queues' lists fit the dashboard's 200-character cursor.
    for (const p of pages) expect((p.next ?? '').length).toBeLessThanOrEqual(200);
  });

  it('state and name filters hold across pages', async () => {
    const success = await all({ state: 'SUCCESS', limit: 100 });
    expect(ids(success.tasks)).toHaveLength(succeeded.size);
    expect(new Set(ids(success.tasks))).toEqual(succeeded);
    expectNewestFirst(success.tasks);
    const waiting = await all({ state: 'PENDING', limit: 70 });
    expect(ids(waiting.tasks)).toHaveLength(pending.size);
    expect(new Set(ids(waiting.tasks))).toEqual(pending);
    expectNewestFirst(waiting.tasks);
    const fatal = await all({ name: 't_fatal', limit: 30 });
    expect(ids(fatal.tasks)).toHaveLength(failed.size);
    expect(new Set(ids(fatal.tasks))).toEqual(failed);
    expect(fatal.tasks.every((t) => t.state === 'FAILURE')).toBe(true);
    expectNewestFirst(fatal.tasks);
    const both = await all({ name: 't_whoami', state: 'PENDING', limit: 7 });
    expect(new Set(ids(both.tasks))).toEqual(whoami);
    expect(await all({ name: 't_whoami', state: 'SUCCESS', limit: 7 })).toMatchObject({ tasks: [] });
  });

  it('a request looks at a bounded number of jobs: short pages, then the rest', async () => {
    const capped = (q: ListTasksQuery) => listTasks({ backend: env.backend, queues: env.registry.queues(), scanMax: 150 }, q);
    const { tasks, pages } = await all({ name: 't_fatal', limit: 50 }, capped);
    expect(ids(tasks)).toHaveLength(failed.size);
    expect(new Set(ids(tasks))).toEqual(failed);
    expectNewestFirst(tasks);
    // 1,300 jobs at most 150 a request: the waiting ones alone give empty pages.
    expect(pages.length).toBeGreaterThanOrEqual(Math.ceil(batchOf.size / 150));
    expect(pages.some((p) => p.data.length === 0 && p.next !== null)).toBe(true);
  });

  it('GET /api/tasks pages through every task over HTTP; a user sees only theirs', async () => {
    const get = async (q: ListTasksQuery, headers: Record<string, string>): Promise<TaskPage> => {
      const qs = new URLSearchParams(Object.entries(q).map(([k, v]) => [k, String(v)]));
      const res = await app.inject({ url: `/api/tasks?${qs}`, headers });
      expect(res.statusCode).toBe(200);
      const body = res.json() as { data: { task_id: string; created_at: string }[]; next: string | null };
      return { data: body.data.map((t) => ({ id: t.task_id, createdAt: new Date(t.created_at) }) as TaskRecord), next: body.next };
    };
    const everything = await all({ limit: 250 }, (q) => get(q, staff.headers));
    expect(ids(everything.tasks)).toHaveLength(batchOf.size);
    expect(new Set(ids(everything.tasks))).toEqual(new Set(batchOf.keys()));
    const theirs = await all({ limit: 4 }, (q) => get(q, user.headers));
    expect(ids(theirs.tasks)).toHaveLength(mine.size);
    expect(new Set(ids(theirs.tasks))).toEqual(mine);
  });

  it('a malformed cursor is a 400 in the contract shape', async () => {
    const first = (await app.inject({ url: '/api/tasks?limit=5', headers: staff.headers })).json() as { next: string };
    const bad = [
      'zzz',
      first.next.slice(0, -3),
      `${first.next}A`,
      Buffer.from('1700000000000_3c4f').toString('base64url'), // the old cursor format
      `B${first.next.slice(1)}`, // another version byte
      'not a cursor!',
    ];
    for (const after of bad) {
      const res = await app.inject({ url: `/api/tasks?after=${encodeURIComponent(after)}`, headers: staff.headers });
      expect([after, res.statusCode]).toEqual([after, 400]);
      expect(res.json().error).toMatchObject({ code: 'invalid_request', details: [{ field: 'querystring.after' }] });
    }
    expect((await app.inject({ url: `/api/tasks?after=${first.next}`, headers: staff.headers })).statusCode).toBe(200);
  });

  it('tasks already listed that leave their list between two requests move nothing into or out of the rest', async () => {
    const forget = async (t: TaskRecord) => {
      await env.backend.queue(env.queue).remove(t.id);
      for (const set of [pending, whoami, mine]) set.delete(t.id);
      batchOf.delete(t.id);
    };
    const first = await env.client.listTasks({ state: 'PENDING', limit: 100 });
    // One listed task leaves: the list moves up by one under the cursor.
    await forget(first.data[40]!);
    const second = await env.client.listTasks({ state: 'PENDING', limit: 100, after: first.next! });
    // The last task listed (where the cursor stands) leaves, and another one before it.
    await forget(second.data[0]!);
    await forget(second.data.at(-1)!);
    const rest = await all({ state: 'PENDING', limit: 100, after: second.next! });
    const listed = [...ids(first.data), ...ids(second.data), ...ids(rest.tasks)];
    expect(listed).toHaveLength(new Set(listed).size);
    expect(ids(rest.tasks)).toHaveLength(pending.size - 197);
    expect(new Set(listed)).toEqual(new Set([...pending, first.data[40]!.id, second.data[0]!.id, second.data.at(-1)!.id]));
  });

  // Last: it runs the waiting tasks.
  it('tasks arriving between two requests do not bring seen ones back', async () => {
    const first = await env.client.listTasks({ limit: 100 });
    const success = await env.client.listTasks({ state: 'SUCCESS', limit: 100 });
    // New tasks at the head of the waiting list, no worker yet.
    const fresh = await Promise.all(Array.from({ length: 30 }, (_, i) => env.client.enqueue('t_echo', { value: -i })));
    const rest = await all({ limit: 100, after: first.next! });
    const listed = [...ids(first.data), ...ids(rest.tasks)];
    expect(listed).toHaveLength(batchOf.size);
    expect(new Set(listed)).toEqual(new Set(batchOf.keys()));
    for (const { id } of fresh) expect(listed).not.toContain(id);
    // Now every waiting task finishes: each goes to the head of the completed list, above
    // the position the SUCCESS listing had reached.
    await env.startWorker();
    const until = Date.now() + 20_000;
    while ((await finishedCount()) < batchOf.size + fresh.length) {
      if (Date.now() > until) throw new Error('waiting tasks did not finish');
      await sleep(20);
    }
    const more = await all({ state: 'SUCCESS', limit: 100, after: success.next! });
    const successes = [...ids(success.data), ...ids(more.tasks)];
    expect(successes).toHaveLength(succeeded.size);
    expect(new Set(successes)).toEqual(succeeded);
    // A fresh listing sees them all.
    expect(ids((await all({ state: 'SUCCESS', limit: 500 })).tasks)).toHaveLength(succeeded.size + pending.size + fresh.length);
  });
});

describe('list cursors', () => {
  it('round-trip, and stay short', () => {
    const keys = [...listKeys(['default', 'emails', 'reports'].flatMap((q) => ['active', 'waiting', 'prioritized', 'delayed', 'completed', 'failed'].map((t) => `${q}\u0000${t}`))).values()];
    expect(new Set(keys).size).toBe(18);
    const cursor: ListCursor = {
      asOf: Date.now(),
      lists: keys.slice(0, 12).map((key, i) => ({ key, offset: 1 + i * 9_999, anchor: (i * 7_919) & 0xffffff, ...(i % 3 ? { next: i } : {}) })),
    };
    const s = encodeCursor(cursor);
    expect(s).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(s)).toEqual(cursor);
    // Two queues with all six lists in use still fit the dashboard's 200 characters.
    expect(s.length).toBeLessThanOrEqual(200);
    expect(decodeCursor(encodeCursor({ asOf: 1, lists: [] }))).toEqual({ asOf: 1, lists: [] });
  });

  it('reject what is not theirs', () => {
    const s = encodeCursor({ asOf: Date.now(), lists: [{ key: 5, offset: 300, anchor: 42, next: 43 }] });
    for (const bad of ['', 'zzz', s.slice(0, -1), s.slice(0, -4), `${s}A`, `${s}AAAA`, `C${s.slice(1)}`, `${s}=`, Buffer.from('1700000000000_x').toString('base64url')]) {
      expect([bad, decodeCursor(bad)]).toEqual([bad, undefined]);
    }
    // The same list twice, and an offset of 0.
    expect(decodeCursor(encodeCursor({ asOf: 1, lists: [{ key: 5, offset: 3, anchor: 1 }, { key: 5, offset: 4, anchor: 2 }] }))).toBeUndefined();
    expect(decodeCursor(encodeCursor({ asOf: 1, lists: [{ key: 5, offset: 0, anchor: 1 }] }))).toBeUndefined();
  });
});
