/** The pieces of the outbound Celery message and of reading results and events back, on their own. */
import { describe, expect, it } from 'vitest';
import { defineCeleryTask, Type } from '../../src/tasks/public.ts';
import { decodeEvents, toTaskRow, toWorkerRow } from '../../src/tasks/celery/events.ts';
import { celeryDate, exceptionText, toResultUpdate } from '../../src/tasks/celery/follow.ts';
import { celeryArguments, celeryMessage, celeryTime, pyRepr, redisDb } from '../../src/tasks/celery/publish.ts';
import { queueKey } from '../../src/tasks/celery/protocol.ts';
import { TaskRegistry } from '../../src/tasks/registry.ts';

const target = { name: 'proj.tasks.greet', args: ['name', 'times'], queue: 'celery' } as const;

describe('the outbound message', () => {
  it('maps listed fields positionally and the rest by keyword; a missing optional field ends the list', () => {
    expect(celeryArguments(target, { name: 'ada', times: 2, loud: true })).toEqual({ args: ['ada', 2], kwargs: { loud: true } });
    expect(celeryArguments(target, { name: 'ada', loud: true })).toEqual({ args: ['ada'], kwargs: { loud: true } });
  });

  it("writes Python's reprs, Celery 5.2's times, kombu's priority lists and database numbers", () => {
    expect(pyRepr([2, 'it\'s', null, true, { a: [1.5] }])).toBe("[2, 'it\\'s', None, True, {'a': [1.5]}]");
    expect(celeryTime(new Date('2026-12-03T18:07:35.811Z'))).toBe('2026-12-03T18:07:35.811000+00:00');
    expect([0, 1, 2, 3, 5, 6, 9, 12].map((p) => queueKey('q', p))).toEqual(['q', 'q', 'q', 'q\x06\x163', 'q\x06\x163', 'q\x06\x166', 'q\x06\x169', 'q\x06\x169']);
    expect([redisDb('redis://h:6379/8'), redisDb('redis://h:6379'), redisDb('rediss://u:p@h/3')]).toEqual([8, 0, 3]);
  });

  it('gives every message a fresh delivery tag and the id as root and correlation id', () => {
    const a = celeryMessage({ id: '00000000-0000-4000-8000-000000000001', target, payload: { name: 'ada' } }, 'r');
    const b = celeryMessage({ id: '00000000-0000-4000-8000-000000000001', target, payload: { name: 'ada' } }, 'r');
    expect(a.properties.delivery_tag).not.toBe(b.properties.delivery_tag);
    expect(a.headers).toMatchObject({ lang: 'py', task: 'proj.tasks.greet', root_id: a.headers.id, eta: null, expires: null, timelimit: [null, null], argsrepr: "['ada']", kwargsrepr: '{}' });
    expect(a.properties.correlation_id).toBe(a.headers.id);
    expect(JSON.parse(Buffer.from(a.body, 'base64').toString())).toEqual([['ada'], {}, { callbacks: null, errbacks: null, chain: null, chord: null }]);
  });

  it("keeps Celery tasks' queues out of the ones Conveyor's workers consume, and refuses bad declarations", () => {
    const mul = defineCeleryTask({ name: 'py.mul', celery: { name: 'proj.tasks.mul', args: ['x', 'y'], queue: 'math' }, payload: Type.Object({ x: Type.Number(), y: Type.Number() }) });
    expect(new TaskRegistry([mul as never]).queues()).toEqual(['default']);
    expect(() => defineCeleryTask({ name: 'py.x', celery: { name: 'bad name', args: [] }, payload: Type.Object({}) })).toThrow(/Celery task name/);
    expect(() => defineCeleryTask({ name: 'py.x', celery: { name: 'a.b', args: ['x', 'x'] }, payload: Type.Object({}) })).toThrow(/twice/);
    expect(() => defineCeleryTask({ name: 'py.x', celery: { name: 'a.b', args: [] }, payload: Type.Object({}), options: { priority: 10 } })).toThrow(/0\.\.9/);
  });
});

describe('reading Celery back', () => {
  it('maps result-backend values to states, errors and times', () => {
    const id = '00000000-0000-4000-8000-000000000002';
    expect(toResultUpdate(JSON.stringify({ status: 'SUCCESS', result: 6, traceback: null, children: [], date_done: '2026-12-03T18:07:35.811767', task_id: id }), 60)).toMatchObject({ id, state: 'SUCCESS', result: 6, doneAt: new Date('2026-12-03T18:07:35.811Z') });
    expect(toResultUpdate(JSON.stringify({ status: 'FAILURE', result: { exc_type: 'Boom', exc_message: ['x', 2], exc_module: 'proj.tasks' }, traceback: 'Traceback…', task_id: id }), 60)).toMatchObject({ state: 'FAILURE', error: 'Boom: x, 2', traceback: 'Traceback…' });
    expect(toResultUpdate(JSON.stringify({ status: 'PENDING', result: null, task_id: id }), 60)).toBeUndefined();
    expect(toResultUpdate('not json', 60)).toBeUndefined();
    expect(exceptionText({ exc_type: 'TaskRevokedError', exc_message: [] })).toBe('TaskRevokedError');
    expect(celeryDate('2026-12-03T18:07:35.811767+01:00')?.toISOString()).toBe('2026-12-03T17:07:35.811Z');
  });

  it('decodes single and batched events, and ignores what it does not know', () => {
    const envelope = (body: unknown) => JSON.stringify({ body: Buffer.from(JSON.stringify(body)).toString('base64'), properties: { body_encoding: 'base64' } });
    const id = '00000000-0000-4000-8000-000000000003';
    const events = decodeEvents(envelope([
      { type: 'task-received', hostname: 'w@h', timestamp: 1_800_000_000, uuid: id, name: 'proj.tasks.mul', args: '[2, 3]', kwargs: '{}' },
      { type: 'task-failed', hostname: 'w@h', timestamp: 1_800_000_001, uuid: id, exception: 'ExceptionWithTraceback()', traceback: 'Traceback\n  ...\nproj.tasks.Boom: nope\n' },
      { type: 'nonsense' },
    ]));
    expect(events).toHaveLength(2);
    expect(toTaskRow(events[0]!, 60)).toMatchObject({ id, state: 'PENDING', name: 'proj.tasks.mul', args: { args: '[2, 3]', kwargs: '{}' }, worker: 'w@h' });
    expect(toTaskRow(events[1]!, 60)).toMatchObject({ state: 'FAILURE', error: 'proj.tasks.Boom: nope' });
    const [beat] = decodeEvents(envelope({ type: 'worker-heartbeat', hostname: 'w@h', timestamp: 1, pid: 7, freq: 2, active: 1, processed: 9, loadavg: [0.1, 0.2, 0.3] }));
    expect(toWorkerRow(beat!)).toEqual({ hostname: 'w@h', kind: 'heartbeat', pid: 7, freq: 2, active: 1, processed: 9, loadavg: [0.1, 0.2, 0.3] });
    expect(decodeEvents('garbage')).toEqual([]);
  });
});
