/**
 * The hand-over into a Conveyor engine on BullMQ's PostgreSQL backend: the Celery broker is
 * still Redis (db 2), Conveyor's own tasks live in PostgreSQL.
 */
process.env.CONVEYOR_TEST_BROKER = 'postgres';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCeleryEnv, storedMeta, type CeleryEnv } from './helpers.ts';

type Sent = { id: string };
type Got = { ok: boolean; result?: unknown; exc_type?: string };

let env: CeleryEnv;

beforeAll(async () => {
  env = await createCeleryEnv(2);
  await env.startCeleryWorker();
});
afterAll(async () => env?.close());

describe('Celery messages into a PostgreSQL-backed engine', () => {
  it('runs on the PostgreSQL backend', () => {
    expect(env.broker).toBe('postgres');
    expect(env.base.config.REDIS_URL).toBeUndefined();
  });

  it('send_task, delay with kwargs, failure and priorities: Python reads the results', async () => {
    const sent = await env.py<Sent>([
      { op: 'send', name: 'proj.tasks.add', args: [2, 3] },
      { op: 'delay', name: 'proj.tasks.add', args: [], kwargs: { a: 1, b: 6 } },
      { op: 'send', name: 'proj.tasks.fail', args: ['no'] },
      { op: 'send', name: 'proj.tasks.add', args: [4, 5], options: { priority: 9 } },
      { op: 'send', name: 'proj.tasks.nobody' },
    ]);
    const got = await env.py<Got>(sent.map((s) => ({ op: 'get', id: s.id, timeout: 30 })));
    expect(got[0]).toEqual({ ok: true, result: 5 });
    expect(got[1]).toEqual({ ok: true, result: 7 });
    expect(got[2]).toMatchObject({ ok: false, exc_type: 'PaymentDeclined' });
    expect(got[3]).toEqual({ ok: true, result: 9 });
    expect(got[4]).toMatchObject({ ok: false, exc_type: 'NotRegistered' });
    expect(await env.client.getTask(sent[0]!.id)).toMatchObject({ state: 'SUCCESS', origin: 'celery' });
  });

  it('a redelivered message runs once, and expires is honoured', async () => {
    const [s] = await env.py<Sent>([{ op: 'send', name: 'proj.tasks.slow', args: [20, 'pg'] }]);
    await env.py<Got>([{ op: 'get', id: s!.id, timeout: 30 }]);
    await env.py<Sent>([{ op: 'send', name: 'proj.tasks.slow', args: [20, 'pg'], options: { task_id: s!.id } }]);
    const [e] = await env.py<Sent>([{ op: 'send', name: 'proj.tasks.add', args: [1, 1], options: { expires: -1 } }]);
    const [expired] = await env.py<Got>([{ op: 'get', id: e!.id, timeout: 30 }]);
    expect(expired).toMatchObject({ ok: false, exc_type: 'TaskRevokedError' });
    expect(env.runs().filter((l) => l.startsWith(s!.id) && l.endsWith('start'))).toHaveLength(1);
    expect((await storedMeta(env.redis, s!.id))?.status).toBe('SUCCESS');
  });
});
