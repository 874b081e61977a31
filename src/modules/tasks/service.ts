/** Task API logic: visibility rules, records as API shapes. The engine's errors go on to the HTTP error table as they are. */
import { decodeCursor, type TaskClient, type TaskRecord } from '../../tasks/index.ts';
import type { AuthenticatedUser } from '../accounts/user.ts';
import { InvalidCursor, TaskNotFound } from './errors.ts';
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
    ...(t.origin ? { origin: t.origin } : {}),
  };
}

/** A task is visible to its creator and to staff; to anyone else it does not exist. */
function visible(t: TaskRecord | undefined, user: AuthenticatedUser | null | undefined): TaskRecord {
  if (!t) throw new TaskNotFound();
  if (t.createdBy != null && !user?.isStaff && user?.id !== t.createdBy) throw new TaskNotFound();
  return t;
}

export async function enqueue(tasks: TaskClient, body: EnqueueBody, user: AuthenticatedUser, origin: { requestId: string; traceId: string | undefined }) {
  const o = body.options ?? {};
  return tasks.enqueue(body.name, body.args ?? {}, {
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
}

export async function getTask(tasks: TaskClient, id: string, user: AuthenticatedUser | null | undefined): Promise<TaskRecord> {
  return visible(await tasks.getTask(id), user);
}

export async function revoke(tasks: TaskClient, id: string, user: AuthenticatedUser): Promise<TaskRecord> {
  visible(await tasks.getTask(id), user);
  return visible(await tasks.revoke(id), user);
}

/** 400 for an `after` that is not a `next` this API gave out (the listing would otherwise start over). */
export function assertListCursor(after: string | undefined): void {
  if (after && !decodeCursor(after)) throw new InvalidCursor();
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
    });
  return { data: page.data.map(toTask), next: page.next };
}
