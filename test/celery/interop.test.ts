/**
 * Celery's messages, sent by real Python (Celery 5.2), run by a Conveyor worker wired as
 * `conveyor worker` wires it; Python reads the results with AsyncResult.get(). Redis db 1.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCeleryEnv, storedMeta, type CeleryEnv } from './helpers.ts';

type Sent = { id: string };
type Got = { ok: boolean; result?: unknown; exc_type?: string; exc_module?: string; exc_args?: string[] };

let env: CeleryEnv;
const seenStates = new Map<string, string[]>();

beforeAll(async () => {
  env = await createCeleryEnv(1);
  // Every state written to the result backend, as Python's get() would see it (pub/sub).
  const sub = env.redis.duplicate();
  await sub.psubscribe('celery-task-meta-*');
  sub.on('pmessage', (_p, _ch, msg) => {
    const m = JSON.parse(msg) as { task_id: string; status: string };
    seenStates.set(m.task_id, [...(seenStates.get(m.task_id) ?? []), m.status]);
  });
  await env.startCeleryWorker();
});
afterAll(async () => env?.close());

describe('Celery messages run on a Conveyor worker', () => {
  it('send_task with args and .delay with kwargs: AsyncResult.get() returns the result; STARTED is written', async () => {
    const [a, b] = await env.py<Sent>([
      { op: 'send', name: 'proj.tasks.add', args: [2, 3] },
      { op: 'delay', name: 'proj.tasks.add', args: [10], kwargs: { b: 5 } },
    ]);
    const got = await env.py<Got>([{ op: 'get', id: a!.id, timeout: 20 }, { op: 'get', id: b!.id, timeout: 20 }]);
    expect(got).toEqual([{ ok: true, result: 5 }, { ok: true, result: 15 }]);
    expect(seenStates.get(a!.id)).toEqual(['STARTED', 'SUCCESS']);
    // The same task in Conveyor, under the Celery id, saying where it came from.
    const record = await env.client.getTask(a!.id);
    expect(record).toMatchObject({ id: a!.id, name: 'celery_add', state: 'SUCCESS', result: 5, args: { a: 2, b: 3 }, origin: 'celery' });
    const app = await env.app();
    const { headers } = await env.authHeaders();
    const res = await app.inject({ method: 'GET', url: `/api/tasks/${a!.id}`, headers });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ task_id: a!.id, state: 'SUCCESS', result: 5, origin: 'celery' });
  });

  it('a failing Conveyor task: Python raises an exception of that type', async () => {
    const [s] = await env.py<Sent>([{ op: 'send', name: 'proj.tasks.fail', args: ['card declined'] }]);
    const [got] = await env.py<Got>([{ op: 'get', id: s!.id, timeout: 20 }]);
    expect(got).toMatchObject({ ok: false, exc_type: 'PaymentDeclined', exc_args: ['card declined'] });
    expect((await env.client.getTask(s!.id))?.state).toBe('FAILURE');
  });

  it('priority 9 and priority 0 messages both run', async () => {
    const sent = await env.py<Sent>([
      { op: 'send', name: 'proj.tasks.add', args: [1, 1], options: { priority: 9 } },
      { op: 'send', name: 'proj.tasks.add', args: [2, 2], options: { priority: 0 } },
      { op: 'send', name: 'proj.tasks.add', args: [3, 3], options: { priority: 5 } },
    ]);
    const got = await env.py<Got>(sent.map((s) => ({ op: 'get', id: s.id, timeout: 20 })));
    expect(got.map((g) => g.result)).toEqual([2, 4, 6]);
  });

  it('countdown is honoured: not run before its time', async () => {
    const before = Date.now();
    const [s] = await env.py<Sent>([{ op: 'send', name: 'proj.tasks.stamp', args: [1], options: { countdown: 3 } }]);
    await sleep(1_000);
    expect((await env.client.getTask(s!.id))?.state).toBe('PENDING');
    const [got] = await env.py<Got>([{ op: 'get', id: s!.id, timeout: 20 }]);
    expect(got!.ok).toBe(true);
    expect(got!.result as number).toBeGreaterThanOrEqual(before + 2_900);
  });

  it('eta is honoured', async () => {
    const eta = Date.now() / 1000 + 2.5;
    const [s] = await env.py<Sent>([{ op: 'send', name: 'proj.tasks.stamp', args: [2], options: { eta } }]);
    const [got] = await env.py<Got>([{ op: 'get', id: s!.id, timeout: 20 }]);
    expect(got!.result as number).toBeGreaterThanOrEqual(eta * 1000 - 100);
  });

  it('expires in the past: REVOKED, and Python raises TaskRevokedError("expired")', async () => {
    const [s] = await env.py<Sent>([{ op: 'send', name: 'proj.tasks.add', args: [1, 2], options: { expires: -5 } }]);
    const [got] = await env.py<Got>([{ op: 'get', id: s!.id, timeout: 20 }]);
    expect(got).toMatchObject({ ok: false, exc_type: 'TaskRevokedError', exc_args: ['expired'] });
    const record = await env.waitFor(s!.id, ['REVOKED']);
    expect(record.error).toBe('expired');
    expect(env.runs().filter((l) => l.startsWith(s!.id))).toEqual([]);
  });

  it('AsyncResult.revoke() in Python: a task waiting for its countdown is REVOKED and never runs; a message that arrives after its revoke is discarded', async () => {
    const [waiting] = await env.py<Sent>([{ op: 'send', name: 'proj.tasks.slow', args: [1, 'w'], options: { countdown: 30 } }]);
    await env.waitFor(waiting!.id, ['PENDING']);
    await env.py([{ op: 'revoke', id: waiting!.id }]);
    const record = await env.waitFor(waiting!.id, ['REVOKED']);
    expect(record.origin).toBe('celery');
    const [got] = await env.py<Got>([{ op: 'get', id: waiting!.id, timeout: 10 }]);
    expect(got).toMatchObject({ ok: false, exc_type: 'TaskRevokedError' });

    // Revoked first (Celery workers remember the id), sent afterwards under that id.
    const early = randomUUID();
    await env.py([{ op: 'revoke', id: early }]);
    await sleep(300); // the broadcast reaches the worker's subscription
    await env.py<Sent>([{ op: 'send', name: 'proj.tasks.slow', args: [1, 'e'], options: { task_id: early } }]);
    expect(await env.waitFor(early, ['REVOKED'])).toMatchObject({ origin: 'celery' });
    const [late] = await env.py<Got>([{ op: 'get', id: early, timeout: 10 }]);
    expect(late).toMatchObject({ ok: false, exc_type: 'TaskRevokedError' });
    await sleep(500);
    expect(env.runs().filter((l) => l.startsWith(waiting!.id) || l.startsWith(early))).toEqual([]);
  });

  it('revoke without terminate lets a started task finish; terminate=True stops it', async () => {
    const [a, b] = await env.py<Sent>([
      { op: 'send', name: 'proj.tasks.slow', args: [1_500, 'a'] },
      { op: 'send', name: 'proj.tasks.slow', args: [30_000, 'b'] },
    ]);
    await env.waitFor(a!.id, ['STARTED']);
    await env.waitFor(b!.id, ['STARTED']);
    await env.py([{ op: 'revoke', id: a!.id }, { op: 'revoke', id: b!.id, terminate: true }]);
    expect((await env.waitFor(b!.id, ['REVOKED'])).state).toBe('REVOKED');
    expect((await env.waitFor(a!.id, ['SUCCESS', 'REVOKED'])).state).toBe('SUCCESS');
  });

  it('the retries header counts into the attempts (and the retry budget)', async () => {
    // celery_attempt fails until attempt 4; sent as the 2nd retry, its first run here is attempt 3.
    const [s] = await env.py<Sent>([{ op: 'send', name: 'proj.tasks.attempt', options: { retries: 2 } }]);
    const [got] = await env.py<Got>([{ op: 'get', id: s!.id, timeout: 20 }]);
    expect(got).toEqual({ ok: true, result: 4 });
    expect(seenStates.get(s!.id)).toEqual(['STARTED', 'RETRY', 'STARTED', 'SUCCESS']);
    expect((await env.client.getTask(s!.id))?.retries).toBe(1);
  });

  it('the time limit is honoured: TimeLimitExceeded in Python', async () => {
    const started = Date.now();
    const [s] = await env.py<Sent>([{ op: 'send', name: 'proj.tasks.slow', args: [10_000], options: { time_limit: 1 } }]);
    const [got] = await env.py<Got>([{ op: 'get', id: s!.id, timeout: 20 }]);
    expect(got).toMatchObject({ ok: false, exc_type: 'TimeLimitExceeded' });
    expect(Date.now() - started).toBeLessThan(8_000);
  });

  it('bad messages are refused cleanly, and the worker runs the next good one', async () => {
    const sent = await env.py<Sent>([
      { op: 'send', name: 'proj.tasks.add', args: [1, 2], serializer: 'pickle' },
      { op: 'send', name: 'proj.tasks.add', args: [1, 2], protocol: 1 },
      { op: 'send', name: 'proj.tasks.nobody', args: [1] },
      { op: 'send', name: 'proj.tasks.add', args: ['x', 2] },
      { op: 'send', name: 'proj.tasks.add', args: [1, 2, 3] },
      { op: 'send', name: 'proj.tasks.add', args: [40, 2] },
    ]);
    await env.redis.lpush('conveyor', 'this is not json');
    const got = await env.py<Got>(sent.map((s) => ({ op: 'get', id: s.id, timeout: 20 })));
    expect(got[0]).toMatchObject({ ok: false, exc_type: 'ContentDisallowed', exc_module: 'kombu.exceptions' });
    expect(got[1]).toMatchObject({ ok: false, exc_type: 'ContentDisallowed', exc_module: 'kombu.exceptions' });
    expect(got[2]).toMatchObject({ ok: false, exc_type: 'NotRegistered', exc_module: 'celery.exceptions' });
    expect(got[3]).toMatchObject({ ok: false, exc_type: 'InvalidArgsError' });
    expect(got[4]).toMatchObject({ ok: false, exc_type: 'InvalidArgsError' });
    expect(got[5]).toEqual({ ok: true, result: 42 });
    // NotRegistered is a FAILURE task in Conveyor too.
    expect(await env.client.getTask(sent[2]!.id)).toMatchObject({ state: 'FAILURE', name: 'proj.tasks.nobody', origin: 'celery' });
    // Everything was acked: nothing is left for a sweep.
    expect(await env.redis.zcard('unacked_index')).toBe(0);
  });

  it('a redelivered message makes no second task and no second run', async () => {
    const [s] = await env.py<Sent>([{ op: 'send', name: 'proj.tasks.slow', args: [50, 'redelivered'] }]);
    await env.py<Got>([{ op: 'get', id: s!.id, timeout: 20 }]);
    // The same message again, as a sweep would put it back.
    const [raw] = await Promise.all([env.py<Sent>([{ op: 'send', name: 'proj.tasks.slow', args: [50, 'redelivered'], options: { task_id: s!.id } }])]);
    expect(raw[0]!.id).toBe(s!.id);
    await sleep(1_500);
    expect(env.runs().filter((l) => l.startsWith(s!.id) && l.endsWith('start'))).toHaveLength(1);
    expect((await storedMeta(env.redis, s!.id))?.status).toBe('SUCCESS');
  });
});
