/** Task API logic: visibility rules, engine errors as AppErrors, records as API shapes. */
import { AppError } from '../../app/errors.ts';
import { decodeCursor, InvalidArgsError, QueueFullError, TaskFinishedError, UnknownTaskError, type TaskClient, type TaskRecord } from '../../tasks/index.ts';
import type { AuthenticatedUser } from '../accounts/user.ts';
import type { EnqueueBody, ListQuery, Task } from './schemas.ts';

export function toTask(t: TaskRecord): Task {
  return {
    task_id: t.id,
    name: t.name,
    state: t.state,
    ...(t.result !== undefined ? { result: t.result } : {}),
    ...(t.error !== undefined ? { error: t.error } : {}),
    retries: t.retries,
    created_at: t.createdAt.toISOString(),
    ...(t.startedAt ? { started_at: t.startedAt.toISOString() } : {}),
    ...(t.finishedAt ? { finished_at: t.finishedAt.toISOString() } : {}),
    ...(t.requestId ? { request_id: t.requestId } : {}),
    ...(t.workflowId ? { workflow_id: t.workflowId } : {}),
  };
}

function mapError(err: unknown): never {
  if (err instanceof UnknownTaskError) throw new AppError('invalid_request', err.message, { details: [{ field: 'body.name', message: 'is not a known task' }] });
  if (err instanceof InvalidArgsError) throw new AppError('invalid_request', err.message, { details: err.issues });
  if (err instanceof QueueFullError) throw new AppError('queue_full', err.message, { headers: { 'retry-after': '1' } });
  if (err instanceof TaskFinishedError) throw new AppError('conflict', err.message);
  if (err instanceof Error && err.name === 'SchemaMigrationRequiredError') {
    throw new AppError('unavailable', 'The task engine is not migrated: run `conveyor migrate`', { cause: err });
  }
  if (err instanceof Error && /ECONNREFUSED|Connection is closed|max retries per request|Stream isn't writeable|enableOfflineQueue/i.test(err.message)) {
    throw new AppError('unavailable', 'The task broker cannot be reached right now', { cause: err });
  }
  throw err;
}

/** A task is visible to its creator and to staff; to anyone else it does not exist. */
function visible(t: TaskRecord | undefined, user: AuthenticatedUser | null | undefined): TaskRecord {
  if (!t) throw new AppError('not_found', 'No such task');
  if (t.createdBy != null && !user?.isStaff && user?.id !== t.createdBy) throw new AppError('not_found', 'No such task');
  return t;
}

export async function enqueue(tasks: TaskClient, body: EnqueueBody, user: AuthenticatedUser, origin: { requestId: string; traceId: string | undefined }) {
  const o = body.options ?? {};
  try {
    return await tasks.enqueue(body.name, body.args ?? {}, {
      createdBy: user.id,
      requestId: origin.requestId,
      ...(origin.traceId ? { traceId: origin.traceId } : {}),
      ...(o.delay_ms !== undefined ? { delayMs: o.delay_ms } : {}),
      ...(o.retries !== undefined ? { retries: o.retries } : {}),
      ...(o.timeout_ms !== undefined ? { timeoutMs: o.timeout_ms } : {}),
      ...(o.priority !== undefined ? { priority: o.priority } : {}),
      ...(o.unique_key !== undefined ? { uniqueKey: o.unique_key } : {}),
      ...(o.unique_for_ms !== undefined ? { uniqueForMs: o.unique_for_ms } : {}),
    });
  } catch (err) {
    return mapError(err);
  }
}

export async function getTask(tasks: TaskClient, id: string, user: AuthenticatedUser | null | undefined): Promise<TaskRecord> {
  return visible(await tasks.getTask(id).catch(mapError), user);
}

export async function revoke(tasks: TaskClient, id: string, user: AuthenticatedUser): Promise<TaskRecord> {
  visible(await tasks.getTask(id).catch(mapError), user);
  return visible(await tasks.revoke(id).catch(mapError), user);
}

/** 400 for an `after` that is not a `next` this API gave out (the listing would otherwise start over). */
export function assertListCursor(after: string | undefined): void {
  if (after && !decodeCursor(after)) throw new AppError('invalid_request', 'Bad cursor', { details: [{ field: 'querystring.after', message: 'is not a cursor from this API' }] });
}

export async function list(tasks: TaskClient, q: ListQuery, user: AuthenticatedUser | null | undefined) {
  assertListCursor(q.after);
  // Anonymous visitors see no one's tasks; users see their own; staff see all (or one user's).
  const createdBy = user?.isStaff ? q.created_by : (user?.id ?? -1);
  const page = await tasks
    .listTasks({
      limit: q.limit,
      ...(q.state ? { state: q.state } : {}),
      ...(q.name ? { name: q.name } : {}),
      ...(q.q ? { q: q.q } : {}),
      ...(q.after ? { after: q.after } : {}),
      ...(createdBy !== undefined ? { createdBy } : {}),
      ...(q.created_after ? { createdFrom: new Date(q.created_after) } : {}),
      ...(q.created_before ? { createdTo: new Date(q.created_before) } : {}),
    })
    .catch(mapError);
  return { data: page.data.map(toTask), next: page.next };
}
