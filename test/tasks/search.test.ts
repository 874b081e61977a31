/**
 * Text search over the arguments takes two paths (records.listTaskRows): a search matching
 * few tasks is read through the trigram index and then paged by seq; one matching more than
 * TEXT_MATCHES is walked in seq order. Both must give the same pages: newest first, each
 * task once, only matching tasks.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskRecord } from '../../src/tasks/index.ts';
import { createTaskEnv, type TaskEnv } from './harness.ts';

let env: TaskEnv;
const DENSE = 10_050; // more than TEXT_MATCHES (10,000)

beforeAll(async () => {
  env = await createTaskEnv();
  // Written straight into the table: tasks as a busy deployment leaves them, every 67th also sparse.
  await env.base.data.database.pool.query(
    `INSERT INTO app.tasks (id, name, queue, state, args, created_at, dispatched)
     SELECT gen_random_uuid(), 't_echo', 'default', 'SUCCESS',
       jsonb_build_object('tag', 'dense-word', 'n', g, 'extra', CASE WHEN g % 67 = 0 THEN 'sparse-word' ELSE '' END),
       now(), true
     FROM generate_series(1, $1::int) g`,
    [DENSE],
  );
});
afterAll(async () => {
  await env?.close();
});

async function all(q: string, limit: number): Promise<TaskRecord[]> {
  const seen: TaskRecord[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await env.client.listTasks({ q, limit, ...(after ? { after } : {}) });
    seen.push(...page.data);
    if (!page.next) return seen;
    after = page.next;
  }
}

describe('q over many tasks', () => {
  it('a search matching few tasks pages them newest first, each once', async () => {
    const got = await all('sparse-word', 40);
    const expected = Math.floor(DENSE / 67);
    expect(got).toHaveLength(expected);
    expect(new Set(got.map((t) => t.id)).size).toBe(expected);
    const ns = got.map((t) => (t.args as { n: number }).n);
    expect(ns).toEqual([...ns].sort((a, b) => b - a));
    expect(ns.every((n) => n % 67 === 0)).toBe(true);
  });

  it('a search matching more than the index path takes still pages newest first', async () => {
    const first = await env.client.listTasks({ q: 'dense-word', limit: 100 });
    expect(first.data.map((t) => (t.args as { n: number }).n)).toEqual(Array.from({ length: 100 }, (_, i) => DENSE - i));
    const second = await env.client.listTasks({ q: 'dense-word', limit: 100, after: first.next! });
    expect(second.data.map((t) => (t.args as { n: number }).n)).toEqual(Array.from({ length: 100 }, (_, i) => DENSE - 100 - i));
  }, 60_000);
});
