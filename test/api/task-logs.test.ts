/**
 * Task logs: a handler's `ctx.log` is a child of the worker's logger bound to the task's id
 * and name, and secrets in what it logs are redacted like request logs are.
 */
import { Writable } from 'node:stream';
import { Type } from 'typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/lib/logger.ts';
import { migrateTaskEngine } from '../../src/tasks/backend.ts';
import { defineTask } from '../../src/tasks/define.ts';
import { startTaskWorker, type RunningWorker } from '../../src/tasks/worker.ts';
import { createTaskEnv, type TaskEnv } from '../tasks/harness.ts';

const lines: Record<string, unknown>[] = [];
const capture = new Writable({
  write(chunk: Buffer, _enc, done) {
    for (const line of chunk.toString().split('\n')) if (line && lines.length < 10_000) lines.push(JSON.parse(line) as Record<string, unknown>);
    done();
  },
});

const chatty = defineTask({
  name: 't_chatty',
  payload: Type.Object({ user: Type.String(), password: Type.String(), nested: Type.Object({ token: Type.String() }) }),
  async handler(args, ctx) {
    ctx.log.info({ args }, 'starting with these arguments');
    ctx.log.info({ password: args.password, headers: { authorization: 'Bearer cvt_leak', cookie: 'conveyor_session=leak' } }, 'careless');
    return { ok: true };
  },
});

let env: TaskEnv;
let worker: RunningWorker;

beforeAll(async () => {
  env = await createTaskEnv({ extraTasks: [chatty] });
  // This suite runs in the API projects, where the harness does not migrate BullMQ's schema.
  if (env.base.mode === 'postgres' && env.broker !== 'redis') await migrateTaskEngine(env.base.url);
  const logger = createLogger({ LOG_LEVEL: 'info', NODE_ENV: 'production' }, 'worker', capture);
  worker = await startTaskWorker({ config: env.base.config, backend: env.backend, registry: env.registry, database: env.base.data.database, logger, queues: ['default'], heartbeatMs: 500 });
});
afterAll(async () => {
  await worker?.close();
  await env?.close();
});

describe('task logs', () => {
  it('carry the task id and name, and never a password, token or cookie', async () => {
    const { id } = await env.client.enqueue('t_chatty', { user: 'ada', password: 'hunter2-secret', nested: { token: 'cvt_nested_secret' } });
    await env.waitFor(id, ['SUCCESS']);
    const own = lines.filter((l) => l.task_id === id);
    expect(own.map((l) => l.msg)).toEqual(expect.arrayContaining(['starting with these arguments', 'careless']));
    for (const l of own) expect(l).toMatchObject({ task_id: id, task: 't_chatty', name: 'worker' });
    const text = JSON.stringify(lines);
    for (const secret of ['hunter2-secret', 'cvt_nested_secret', 'cvt_leak', 'conveyor_session=leak']) expect(text).not.toContain(secret);
    expect(own.find((l) => l.msg === 'starting with these arguments')).toMatchObject({ args: { user: 'ada', password: '[redacted]', nested: { token: '[redacted]' } } });
  });
});
