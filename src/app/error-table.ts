/**
 * The one table from what went wrong to what the contract answers: each domain error class
 * (declared by its module, the engine or lib) to a catalogue code, with the details and
 * headers the contract gives it. Errors are told apart by class and by driver codes, never
 * by their message text. A subclass answers like its nearest listed ancestor; a class not
 * listed is a bug, and answers 500.
 */
import { isDatabaseUnavailable } from '../db/errors.ts';
import { errorCatalogue, type ErrorCode } from '../http/errors.ts';
import { UpstreamError } from '../lib/http/index.ts';
import { LoginThrottled, NotAllowed, NotAuthenticated } from '../modules/accounts/errors.ts';
import { DataFileMissing } from '../modules/files/errors.ts';
import { DescriptionTooLong, DuplicateNames, InvalidItemInput, ItemContended, ItemNotFound, ItemsNotFound, NameTaken } from '../modules/items/errors.ts';
import { MetricsUnavailable } from '../modules/metrics/routes.ts';
import { InvalidCursor, TaskNotFound } from '../modules/tasks/errors.ts';
import { WorkflowFinished, WorkflowNotFound } from '../modules/workflows/errors.ts';
import { TaskEngineNotMigratedError } from '../tasks/backend.ts';
import { InvalidCanvasError } from '../tasks/canvas.ts';
import { BrokerUnavailableError, CeleryNotConfiguredError, InvalidArgsError, QueueFullError, TaskFinishedError, UnknownTaskError } from '../tasks/errors.ts';

/** How one error is answered; `message` defaults to the error's own. */
export interface Answer {
  readonly code: ErrorCode;
  readonly message?: string;
  readonly details?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

type ErrorClass<E extends Error> = abstract new (...args: never[]) => E;
const table = new Map<ErrorClass<Error>, (err: Error) => Answer>();

function on<E extends Error>(cls: ErrorClass<E>, answer: (err: E) => Answer): void {
  table.set(cls, answer as (err: Error) => Answer);
}
const is = (code: ErrorCode) => (): Answer => ({ code });

// Items
on(ItemNotFound, is('not_found'));
on(ItemsNotFound, (e) => ({ code: 'not_found', details: { missing: e.ids.slice(0, 100) } }));
on(NameTaken, is('conflict'));
on(DuplicateNames, (e) => ({ code: 'conflict', details: e.names.slice(0, 100).map((name) => ({ name })) }));
on(ItemContended, is('conflict'));
on(DescriptionTooLong, () => ({ code: 'invalid_request', details: [{ field: 'description', message: 'must NOT have more than 10000 characters' }] }));
on(InvalidItemInput, (e) => ({ code: 'invalid_request', details: e.issues.map((i) => ({ field: `body.${i.field}`, message: i.message })) }));

// Accounts
on(NotAuthenticated, is('unauthenticated'));
on(NotAllowed, is('forbidden'));
on(LoginThrottled, (e) => ({ code: 'rate_limited', headers: { 'retry-after': String(e.retryAfterSeconds) } }));

// Tasks: the task API's own, then the engine's
on(TaskNotFound, is('not_found'));
on(InvalidCursor, () => ({ code: 'invalid_request', details: [{ field: 'querystring.after', message: 'is not a cursor from this API' }] }));
on(UnknownTaskError, () => ({ code: 'invalid_request', details: [{ field: 'body.name', message: 'is not a known task' }] }));
on(InvalidArgsError, (e) => ({ code: 'invalid_request', details: e.issues }));
on(QueueFullError, () => ({ code: 'queue_full', headers: { 'retry-after': '1' } }));
on(TaskFinishedError, is('conflict'));
on(BrokerUnavailableError, is('unavailable'));
on(CeleryNotConfiguredError, () => ({ code: 'unavailable', message: 'This task runs on Celery workers, and Celery interoperability is off (CELERY_BROKER_URL is not set)' }));
on(TaskEngineNotMigratedError, () => ({ code: 'unavailable', message: 'The task engine is not migrated: run `conveyor migrate`' }));

// Workflows
on(WorkflowNotFound, is('not_found'));
on(WorkflowFinished, is('conflict'));
on(InvalidCanvasError, (e) => ({
  code: 'invalid_request',
  message: `Invalid workflow: ${e.message}`,
  details: e.issues.map((i) => ({ field: `body.${i.field}`, message: i.message })),
}));

// Files, the upstream, metrics
on(DataFileMissing, is('not_found'));
on(UpstreamError, (e) => {
  const code = e.kind === 'timeout' ? 'upstream_timeout' : 'upstream_error';
  // The catalogue's words: the error's own may name the private address a URL resolved to.
  return { code, message: errorCatalogue[code].message, details: { reason: e.kind, ...(e.status ? { status: e.status } : {}) } };
});
on(MetricsUnavailable, is('unavailable'));

/** The contract's answer to `err`, or undefined when no entry covers it (then it is a 500 or a framework error). */
export function answerFor(err: unknown): Answer | undefined {
  if (!(err instanceof Error)) return undefined;
  for (let proto: object | null = Object.getPrototypeOf(err); proto && proto !== Error.prototype; proto = Object.getPrototypeOf(proto)) {
    const answer = table.get((proto as { constructor: ErrorClass<Error> }).constructor);
    if (answer) return answer(err);
  }
  if (isDatabaseUnavailable(err)) return { code: 'unavailable', message: 'The database cannot be reached right now' };
  return undefined;
}

/** Every class the table answers (for the test that each one is reachable and none is a 500). */
export const answeredClasses: readonly ErrorClass<Error>[] = [...table.keys()];
