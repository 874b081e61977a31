/** Eager mode (Celery task_always_eager): the handler runs inline and the record has the usual shape. */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import { createTaskClient, TaskRegistry } from '../../src/tasks/index.ts';
import type { AnyTask } from '../../src/tasks/define.ts';
import { testTasks } from '../tasks/fixtures/tasks.ts';

const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent' });
const t = testTasks('default');
const registry = new TaskRegistry(Object.values(t) as unknown as AnyTask[]);

describe('eager task client', () => {
  it('runs the handler inline and stores a SUCCESS record', async () => {
    const tasks = await createTaskClient({ config, eager: true, registry });
    const { id, state } = await tasks.delay(t.echo, { value: 3 });
    expect(state).toBe('PENDING');
    expect(await tasks.getTask(id)).toMatchObject({ id, name: 't_echo', state: 'SUCCESS', result: { value: 3 }, retries: 0 });
  });

  it('retries, times out and validates like the real engine', async () => {
    const tasks = await createTaskClient({ config, eager: true, registry });
    const flaky = await tasks.enqueue('t_flaky', { failTimes: 1 });
    expect(await tasks.getTask(flaky.id)).toMatchObject({ state: 'SUCCESS', retries: 1 });
    const slow = await tasks.enqueue('t_stubborn', { ms: 2_000 });
    expect(await tasks.getTask(slow.id)).toMatchObject({ state: 'FAILURE', error: 'timeout' });
    await expect(tasks.enqueue('t_echo', { value: 'x' })).rejects.toThrow(/invalid arguments/);
    await expect(tasks.enqueue('nope', {})).rejects.toThrow(/unknown task/);
  });
});
