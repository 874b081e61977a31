/**
 * A Python `celery worker` sharing the Redis database (its sweep restores any unacked entry
 * older than 2 s) never makes a long Conveyor task run twice: Conveyor acks a message once it
 * is handed over, so its runs are never in `unacked`. Redis db 4.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCeleryEnv, PYTHON, storedMeta, type CeleryEnv } from './helpers.ts';

type Sent = { id: string };
type Got = { ok: boolean; result?: unknown };

let env: CeleryEnv;
let handle: Awaited<ReturnType<CeleryEnv['startCeleryWorker']>>;
let python: ChildProcess | undefined;
let pythonOut = '';

beforeAll(async () => {
  env = await createCeleryEnv(4);
  handle = await env.startCeleryWorker();
});
afterAll(async () => {
  if (python && python.exitCode === null) {
    python.kill('SIGKILL');
    await new Promise((r) => python!.once('exit', r));
  }
  await env?.close();
});

function startPythonWorker(): ChildProcess {
  const child = spawn(PYTHON, ['-m', 'celery', '-A', 'pyworker', 'worker', '-Q', 'pyq', '-P', 'solo', '--without-gossip', '--without-mingle', '--without-heartbeat', '-l', 'info', '-n', `py-${process.pid}@%h`], {
    cwd: path.join(import.meta.dirname, 'python'),
    env: { ...process.env, CELERY_TEST_BROKER: env.brokerUrl },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d: Buffer) => (pythonOut += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (pythonOut += d.toString()));
  return child;
}

describe('a Python worker sweeping the same Redis database', () => {
  it("Conveyor's own sweep puts a stale entry back on the list of its priority, as kombu does", async () => {
    const entry = (tag: string, priority: number) => ({
      body: Buffer.from(JSON.stringify([[1], {}, {}])).toString('base64'), 'content-type': 'application/json', 'content-encoding': 'utf-8',
      headers: { lang: 'py', task: 'pyworker.noop', id: `a6a0f7c2-0000-4000-8000-00000000010${priority}` },
      properties: { body_encoding: 'base64', delivery_tag: tag, delivery_info: { exchange: '', routing_key: 'idleq' }, priority },
    });
    const stale = Date.now() / 1000 - 60;
    await env.redis.multi()
      .zadd('unacked_index', stale, 'p9-tag', stale, 'p0-tag')
      .hset('unacked', 'p9-tag', JSON.stringify([entry('p9-tag', 9), '', 'idleq']), 'p0-tag', JSON.stringify([entry('p0-tag', 0), '', 'idleq']))
      .exec();
    expect(await handle.consumer.sweep()).toBe(2);
    const tags = async (list: string) => (await env.redis.lrange(list, 0, -1)).map((raw) => (JSON.parse(raw) as { properties: { delivery_tag: string } }).properties.delivery_tag);
    expect(await tags('idleq\x06\x169')).toEqual(['p9-tag']);
    expect(await tags('idleq')).toEqual(['p0-tag']);
    await env.redis.del('idleq', 'idleq\x06\x169');
  });

  it('never makes a long Conveyor task run a second time', async () => {
    const [s] = await env.py<Sent>([{ op: 'send', name: 'proj.tasks.slow', args: [6_000, 'long'] }]);
    await env.waitFor(s!.id, ['STARTED']);
    // An entry a dead Python worker left behind, stale: proof that this Python worker sweeps.
    const stale = { body: Buffer.from(JSON.stringify([[7], {}, {}])).toString('base64'), 'content-type': 'application/json', 'content-encoding': 'utf-8',
      headers: { lang: 'py', task: 'pyworker.noop', id: 'a6a0f7c2-0000-4000-8000-000000000001' },
      properties: { body_encoding: 'base64', delivery_tag: 'stale-tag', delivery_info: { exchange: '', routing_key: 'pyq' }, priority: 0 } };
    await env.redis.multi().zadd('unacked_index', Date.now() / 1000 - 60, 'stale-tag').hset('unacked', 'stale-tag', JSON.stringify([stale, '', 'pyq'])).exec();
    python = startPythonWorker();
    const [restored] = await env.py<Got>([{ op: 'get', id: stale.headers.id, timeout: 40 }]);
    expect(restored, pythonOut).toEqual({ ok: true, result: 7 });
    // The Conveyor task, running all along past the Python worker's 2 s visibility timeout.
    const [got] = await env.py<Got>([{ op: 'get', id: s!.id, timeout: 30 }]);
    expect(got).toEqual({ ok: true, result: 'long' });
    await sleep(1_000);
    const runs = env.runs().filter((l) => l.startsWith(s!.id));
    expect(runs).toEqual([`${s!.id} long start`, `${s!.id} long end`]);
    expect((await storedMeta(env.redis, s!.id))?.status).toBe('SUCCESS');
    expect(await env.redis.llen('conveyor')).toBe(0);
  });
});
