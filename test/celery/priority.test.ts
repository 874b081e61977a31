/**
 * Priorities as Celery's Redis transport serves them: waiting messages of priority 0 (or none)
 * run before 9. The messages are queued before the worker starts; one run at a time. Redis db 7.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCeleryEnv, type CeleryEnv } from './helpers.ts';

type Sent = { id: string };
type Got = { ok: boolean; result?: unknown };

let env: CeleryEnv;
beforeAll(async () => {
  env = await createCeleryEnv(7);
});
afterAll(async () => env?.close());

describe('Celery priorities', () => {
  it('a waiting priority-0 message runs before a waiting priority-9 one', async () => {
    const sent = await env.py<Sent>([
      { op: 'send', name: 'proj.tasks.slow', args: [30, 'p9-a'], options: { priority: 9 } },
      { op: 'send', name: 'proj.tasks.slow', args: [30, 'p9-b'], options: { priority: 9 } },
      { op: 'send', name: 'proj.tasks.slow', args: [30, 'p0-a'], options: { priority: 0 } },
      { op: 'send', name: 'proj.tasks.slow', args: [30, 'p6'], options: { priority: 6 } },
      { op: 'send', name: 'proj.tasks.slow', args: [30, 'p0-b'] },
    ]);
    await env.startCeleryWorker({ concurrency: 1 });
    const got = await env.py<Got>(sent.map((s) => ({ op: 'get', id: s.id, timeout: 30 })));
    expect(got.every((g) => g.ok)).toBe(true);
    const order = env.runs().filter((l) => l.endsWith('start')).map((l) => l.split(' ')[1]);
    expect(order).toEqual(['p0-a', 'p0-b', 'p6', 'p9-a', 'p9-b']);
  });
});
