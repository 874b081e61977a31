/**
 * Celery's Redis result backend, written by Conveyor for the tasks that came from Celery
 * messages, so `AsyncResult(id).get()` in Python sees STARTED, RETRY, SUCCESS, FAILURE and
 * REVOKED as a Celery worker would write them: `SETEX celery-task-meta-<id> 86400 <json>` and
 * a `PUBLISH` of the same value on the same key (get() subscribes, then reads). A stored
 * SUCCESS is never overwritten. It is the worker's observer (observer.ts): the engine calls
 * it for tasks whose origin is `celery`.
 */
import os from 'node:os';
import { Redis } from 'ioredis';
import { TaskRevokedError } from '../define.ts';
import type { TaskObserver, TaskTransition } from '../observer.ts';
import type { TaskOrigin } from '../types.ts';
import { resultKey } from './protocol.ts';

/** Celery's `result_expires` default: one day. */
export const RESULT_TTL_S = 86_400;

/** What a Conveyor task of Celery origin carries (TaskOrigin with `kind: 'celery'`). */
export interface CeleryOrigin extends TaskOrigin {
  readonly kind: 'celery';
  /** The Celery task id (the Conveyor id is the same when it is a UUID). */
  readonly id: string;
  /** The Celery task name it was sent as. */
  readonly task: string;
  readonly root?: string | null;
  readonly parent?: string | null;
  /** The message asked for no result (`ignore_result`). */
  readonly ignoreResult?: boolean;
}

export const isCeleryOrigin = (o: TaskOrigin | undefined): o is CeleryOrigin => o?.kind === 'celery' && typeof o.id === 'string';

/** The exception Python raises from a FAILURE: its class name, its arguments, its module. */
export interface CeleryException {
  readonly exc_type: string;
  readonly exc_message: readonly unknown[];
  readonly exc_module: string;
}

export type CeleryState = 'STARTED' | 'RETRY' | 'SUCCESS' | 'FAILURE' | 'REVOKED';

/** Celery's `date_done`: a naive UTC ISO time with microseconds, as Celery 5.2 writes it. */
const celeryNow = () => new Date().toISOString().replace('Z', '000');

/**
 * A Conveyor error as the exception Python should raise: the engine's time limit and
 * revocation as Celery's own classes, everything else under its own name (Python makes a
 * class of that name when it cannot import the module).
 */
export function toCeleryException(err: Error): CeleryException {
  switch (err.name) {
    case 'TaskTimeoutError':
      return { exc_type: 'TimeLimitExceeded', exc_message: [err.message], exc_module: 'billiard.exceptions' };
    case 'TaskRevokedError':
      return { exc_type: 'TaskRevokedError', exc_message: [err.message], exc_module: 'celery.exceptions' };
    case 'NotRegistered':
      return { exc_type: 'NotRegistered', exc_message: [err.message], exc_module: 'celery.exceptions' };
    case 'ContentDisallowed':
      return { exc_type: 'ContentDisallowed', exc_message: [err.message], exc_module: 'kombu.exceptions' };
    default:
      return { exc_type: /^[A-Za-z_]\w*$/.test(err.name) ? err.name : 'Error', exc_message: [err.message], exc_module: 'conveyor' };
  }
}

/** Finished states: a revocation never overwrites one (a revoke racing the end, or a second revoke). */
const FINAL: readonly CeleryState[] = ['SUCCESS', 'FAILURE', 'REVOKED'];

/** SETEX + PUBLISH of ARGV[2] under KEYS[1] for ARGV[1] s, unless the stored status is one of ARGV[3..]. */
const STORE_UNLESS = `
local stored = redis.call('get', KEYS[1])
if stored then
  local ok, meta = pcall(cjson.decode, stored)
  if ok and type(meta) == 'table' then
    for i = 3, #ARGV do
      if meta.status == ARGV[i] then return 0 end
    end
  end
end
redis.call('setex', KEYS[1], ARGV[1], ARGV[2])
redis.call('publish', KEYS[1], ARGV[2])
return 1`;

/**
 * Write one state of a Celery task where Python's `AsyncResult` reads it, as a Celery worker
 * would, checked and written in one atomic step: Celery's own rule, a stored SUCCESS stays (a
 * late STARTED or a redelivery cannot undo it); a REVOKED leaves every finished state alone.
 * The one writer of Celery's result meta, for the worker's observer and for revocations alike.
 */
export async function storeCeleryState(redis: Redis, celeryId: string, state: CeleryState, result: unknown, traceback: string | null = null): Promise<void> {
  const value = JSON.stringify({
    status: state,
    result,
    traceback,
    children: [],
    date_done: state === 'SUCCESS' || state === 'FAILURE' || state === 'REVOKED' ? celeryNow() : null,
    task_id: celeryId,
  });
  await redis.eval(STORE_UNLESS, 1, resultKey(celeryId), RESULT_TTL_S, value, ...(state === 'REVOKED' ? FINAL : ['SUCCESS']));
}

/** What Python raises from a task revoked before it ran. */
export const revokedException = (): CeleryException => toCeleryException(new TaskRevokedError());

export interface CeleryResults extends TaskObserver {
  /** Store one state of a Celery task (storeCeleryState). */
  store(celeryId: string, state: CeleryState, result: unknown, traceback?: string | null): Promise<void>;
  /** A FAILURE of a message that never became a Conveyor run (refused, not registered, bad arguments). */
  fail(celeryId: string, err: Error): Promise<void>;
  close(): Promise<void>;
}

/** One connection, so the writes of one task land in the order they were made (observer.ts). */
export function celeryResults(url: string): CeleryResults {
  const redis = new Redis(url, { maxRetriesPerRequest: 3, lazyConnect: false, connectionName: 'conveyor-celery-results' });
  redis.on('error', () => undefined); // each call reports its own failure
  const store: CeleryResults['store'] = (celeryId, state, result, traceback = null) => storeCeleryState(redis, celeryId, state, result, traceback);
  const fail: CeleryResults['fail'] = (celeryId, err) => store(celeryId, 'FAILURE', toCeleryException(err), err.stack ?? null);
  return {
    store,
    fail,
    async transition(t: TaskTransition) {
      const origin = t.origin;
      if (!isCeleryOrigin(origin) || origin.ignoreResult) return;
      switch (t.state) {
        case 'STARTED':
          return store(origin.id, 'STARTED', { pid: t.pid, hostname: `conveyor@${t.hostname || os.hostname()}` });
        case 'SUCCESS':
          return store(origin.id, 'SUCCESS', t.result ?? null);
        case 'RETRY':
        case 'FAILURE':
        case 'REVOKED': {
          const err = t.error ?? new Error(t.state.toLowerCase());
          return store(origin.id, t.state, toCeleryException(err), t.state === 'REVOKED' ? null : (err.stack ?? null));
        }
      }
    },
    async close() {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
