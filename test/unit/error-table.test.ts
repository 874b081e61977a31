/**
 * The HTTP error table: every domain error a route can meet has an entry (so none falls
 * through to 500), each answers the contract's code, and nothing is classified by its
 * message text.
 */
import { describe, expect, it } from 'vitest';
import { answeredClasses, answerFor } from '../../src/app/error-table.ts';
import { DatabaseUnavailableError } from '../../src/db/errors.ts';
import { UpstreamError } from '../../src/lib/http/index.ts';
import * as accounts from '../../src/modules/accounts/errors.ts';
import * as files from '../../src/modules/files/errors.ts';
import * as items from '../../src/modules/items/errors.ts';
import { MetricsUnavailable } from '../../src/modules/metrics/routes.ts';
import * as tasksApi from '../../src/modules/tasks/errors.ts';
import * as workflows from '../../src/modules/workflows/errors.ts';
import { TaskEngineNotMigratedError } from '../../src/tasks/backend.ts';
import { InvalidCanvasError } from '../../src/tasks/canvas.ts';
import * as engine from '../../src/tasks/errors.ts';

type ErrorClass = abstract new (...args: never[]) => Error;
const classesOf = (mod: Record<string, unknown>) => Object.values(mod).filter((v): v is ErrorClass => typeof v === 'function' && v.prototype instanceof Error);

/** Raised only by CLI verbs (createuser, createtoken), never on an HTTP path. */
const cliOnly: ErrorClass[] = [accounts.AccountError, accounts.UsernameTaken];

describe('the HTTP error table', () => {
  it('answers every domain error of the modules and the engine', () => {
    const declared = [...[accounts, files, items, tasksApi, workflows, engine].flatMap(classesOf), MetricsUnavailable, TaskEngineNotMigratedError, InvalidCanvasError, UpstreamError];
    const covered = (cls: ErrorClass) => answeredClasses.some((known) => cls === known || cls.prototype instanceof known);
    expect(declared.filter((cls) => !cliOnly.includes(cls) && !covered(cls)).map((c) => c.name)).toEqual([]);
  });

  it('gives each the contract\'s code, details and headers', () => {
    expect(answerFor(new items.ItemNotFound(7))).toEqual({ code: 'not_found' });
    expect(answerFor(new items.NameTaken('x'))).toEqual({ code: 'conflict' });
    expect(answerFor(new items.ItemsNotFound([3, 4]))).toEqual({ code: 'not_found', details: { missing: [3, 4] } });
    expect(answerFor(new items.InvalidItemInput('no', [{ field: 'name', message: 'is required' }]))).toEqual({
      code: 'invalid_request', details: [{ field: 'body.name', message: 'is required' }],
    });
    expect(answerFor(new accounts.InvalidCredentials())).toEqual({ code: 'unauthenticated' });
    expect(answerFor(new accounts.LoginThrottled(9))).toEqual({ code: 'rate_limited', headers: { 'retry-after': '9' } });
    expect(answerFor(new engine.QueueFullError('default', 10))).toEqual({ code: 'queue_full', headers: { 'retry-after': '1' } });
    expect(answerFor(new engine.TaskFinishedError('SUCCESS'))).toEqual({ code: 'conflict' });
    expect(answerFor(new engine.BrokerUnavailableError())).toEqual({ code: 'unavailable' });
    expect(answerFor(new UpstreamError('timeout', 'slow'))).toMatchObject({ code: 'upstream_timeout', details: { reason: 'timeout' } });
    expect(answerFor(new UpstreamError('status', 'the upstream answered 500', { status: 500 }))).toMatchObject({ code: 'upstream_error', details: { reason: 'status', status: 500 } });
  });

  it('knows an unreachable database by class and driver code, never by message', () => {
    expect(answerFor(new DatabaseUnavailableError(new Error('whatever')))?.code).toBe('unavailable');
    const shuttingDown = Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01', severity: 'FATAL' });
    expect(answerFor(new Error('Failed query', { cause: shuttingDown }))?.code).toBe('unavailable');
    expect(answerFor(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }))?.code).toBe('unavailable');
    // The words pg-pool and pg use, from anywhere else, are just an error (a 500).
    for (const words of ['timeout exceeded when trying to connect', 'Connection terminated unexpectedly', 'Connection is closed.']) {
      expect(answerFor(new Error(words))).toBeUndefined();
    }
    expect(answerFor(Object.assign(new Error('duplicate key'), { code: '23505' }))).toBeUndefined();
  });
});
