/**
 * `conveyor/client` from a process of the user's own: examples/place-order.ts, run as a real
 * child process against the same database and broker, enqueues a workflow and a unique task
 * inside its transaction, and one in a transaction that rolls back.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { broker, createTaskEnv, type TaskEnv } from './harness.ts';

const run = promisify(execFile);
let env: TaskEnv;
beforeAll(async () => {
  env = await createTaskEnv();
}, 120_000);
afterAll(async () => {
  await env?.close();
});

describe(`conveyor/client on ${broker()}`, () => {
  it('a script enqueues in its own transaction: what commits exists, what rolls back does not', async () => {
    const orderId = `o-${Date.now()}`;
    const { stdout } = await run(process.execPath, ['examples/place-order.ts', orderId], { env: env.childEnv, timeout: 60_000 });
    const out = JSON.parse(stdout.trim().split('\n').at(-1)!) as { workflow: string; tasks: string[]; report: string; again: string; deduplicated: boolean; abandoned: string };

    const workflow = await env.client.getWorkflow(out.workflow);
    expect(workflow?.tasks.map((t) => t.name)).toEqual(['examples.price_line', 'examples.price_line', 'examples.total_order', 'examples.notify_customer']);
    expect(workflow?.tasks.map((t) => t.id)).toEqual(out.tasks);
    const report = await env.client.getTask(out.report);
    expect(report).toMatchObject({ name: 'examples.rebuild_report', args: { orderId } });
    // The same unique key, asked again after the commit: the pending task is answered.
    expect(out.again).toBe(out.report);
    expect(out.deduplicated).toBe(true);
    // The rolled-back transaction's task was never written, nor handed to the broker.
    expect(out.abandoned).toMatch(/^[0-9a-f-]{36}$/);
    expect(await env.client.getTask(out.abandoned)).toBeUndefined();
    expect(workflow?.tasks.every((t) => t.state === 'PENDING')).toBe(true); // no worker here runs the examples
  }, 90_000);
});
