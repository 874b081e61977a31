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
let python: ChildProcess | undefined;
let pythonOut = '';

beforeAll(async () => {
  env = await createCeleryEnv(4);
  await env.startCeleryWorker();
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
