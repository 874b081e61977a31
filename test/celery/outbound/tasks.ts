/** The Celery tasks of test/celery/outbound/proj/tasks.py, declared on Conveyor's side (TASK_MODULES of the child processes). */
import { defineCeleryTask, Type } from '../../../src/tasks/public.ts';

export const mul = defineCeleryTask({
  name: 'py.mul',
  celery: { name: 'proj.tasks.mul', args: ['x', 'y'] },
  payload: Type.Object({ x: Type.Number(), y: Type.Number() }),
});

export const fail = defineCeleryTask({
  name: 'py.fail',
  celery: { name: 'proj.tasks.fail', args: ['message'] },
  payload: Type.Object({ message: Type.String() }),
});

/** `greeting` is not positional: it goes as a keyword argument. */
export const greet = defineCeleryTask({
  name: 'py.greet',
  celery: { name: 'proj.tasks.greet', args: ['name'] },
  payload: Type.Object({ name: Type.String(), greeting: Type.Optional(Type.String()) }),
});

/** The same task on a queue no Python worker consumes: its messages stay in Redis to be read. */
export const mulParked = defineCeleryTask({
  name: 'py.mul_parked',
  celery: { name: 'proj.tasks.mul', args: ['x', 'y'], queue: 'parked' },
  payload: Type.Object({ x: Type.Number(), y: Type.Number() }),
  options: { timeoutMs: 30_000, softTimeoutMs: 20_000, expiresMs: 60_000 },
});

/** Retried once by Python (`self.retry`), then succeeds. */
export const flaky = defineCeleryTask({
  name: 'py.flaky',
  celery: { name: 'proj.tasks.flaky', args: ['key'] },
  payload: Type.Object({ key: Type.String() }),
});
