/** The benchmark's Conveyor task answering to Celery's `proj.tasks.add` (the Python side: app.py). */
import { defineTask, Type } from 'conveyor/tasks';

export const add = defineTask({
  name: 'bench_add',
  payload: Type.Object({ a: Type.Number(), b: Type.Number() }),
  celery: { name: 'proj.tasks.add', args: ['a', 'b'] },
  handler: async ({ a, b }) => a + b,
});
