/** Workflow API logic: HTTP canvases to the engine's and back, visibility. The engine's InvalidCanvasError goes on to the HTTP error table. */
import { MAX_WORKFLOW_TASKS, TaskFinishedError, type CanvasNode, type SignatureOptions, type TaskClient, type WorkflowRecord } from '../../tasks/index.ts';
import type { AuthenticatedUser } from '../accounts/user.ts';
import { WorkflowFinished, WorkflowNotFound } from './errors.ts';
import type { Workflow } from './schemas.ts';

type HttpOptions = { delay_ms?: number; retries?: number; timeout_ms?: number; priority?: number };

/** The HTTP canvas (snake_case options) as the engine's. */
function toCanvas(node: unknown): CanvasNode {
  if (!node || typeof node !== 'object') return node as CanvasNode;
  const n = node as Record<string, unknown>;
  if (typeof n.task === 'string') {
    const o = (n.options ?? {}) as HttpOptions;
    const options: SignatureOptions = {
      ...(o.delay_ms !== undefined ? { delayMs: o.delay_ms } : {}),
      ...(o.retries !== undefined ? { retries: o.retries } : {}),
      ...(o.timeout_ms !== undefined ? { timeoutMs: o.timeout_ms } : {}),
      ...(o.priority !== undefined ? { priority: o.priority } : {}),
    };
    return { task: n.task, ...(n.args !== undefined ? { args: n.args } : {}), ...(Object.keys(options).length ? { options } : {}) };
  }
  if (Array.isArray(n.chain)) return { chain: n.chain.map(toCanvas) };
  if (Array.isArray(n.group)) return { group: n.group.map(toCanvas) };
  const c = n.chord as { header?: unknown; body?: unknown } | undefined;
  if (c) return { chord: { header: Array.isArray(c.header) ? c.header.map(toCanvas) : [], body: toCanvas(c.body) } };
  return node as CanvasNode;
}

/** The engine's annotated canvas with the options written as they were submitted. */
function toHttpCanvas(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(toHttpCanvas);
  if (!node || typeof node !== 'object') return node;
  const n = node as Record<string, unknown>;
  if (typeof n.task_id === 'string') {
    const { options, ...rest } = n as { options?: SignatureOptions } & Record<string, unknown>;
    if (!options) return rest;
    const http: HttpOptions = {
      ...(options.delayMs !== undefined ? { delay_ms: options.delayMs } : {}),
      ...(options.retries !== undefined ? { retries: options.retries } : {}),
      ...(options.timeoutMs !== undefined ? { timeout_ms: options.timeoutMs } : {}),
      ...(options.priority !== undefined ? { priority: options.priority } : {}),
    };
    return { ...rest, options: http };
  }
  return Object.fromEntries(Object.entries(n).map(([k, v]) => [k, toHttpCanvas(v)]));
}

export function toWorkflow(w: WorkflowRecord): Workflow {
  return {
    workflow_id: w.id,
    state: w.state,
    created_at: w.createdAt.toISOString(),
    ...(w.finishedAt ? { finished_at: w.finishedAt.toISOString() } : {}),
    canvas: toHttpCanvas(w.canvas),
    ...(w.result !== undefined ? { result: w.result } : {}),
  };
}

/** Like a task: visible to its creator and to staff; to anyone else it does not exist. */
function visible(w: WorkflowRecord | undefined, user: AuthenticatedUser | null | undefined): WorkflowRecord {
  if (!w || (w.createdBy != null && !user?.isStaff && user?.id !== w.createdBy)) throw new WorkflowNotFound();
  return w;
}

export function create(tasks: TaskClient, body: unknown, user: AuthenticatedUser, requestId: string) {
  return tasks.workflow(toCanvas(body), { createdBy: user.id, requestId, maxTasks: MAX_WORKFLOW_TASKS });
}

export async function get(tasks: TaskClient, id: string, user: AuthenticatedUser | null | undefined): Promise<WorkflowRecord> {
  return visible(await tasks.getWorkflow(id), user);
}

export async function revoke(tasks: TaskClient, id: string, user: AuthenticatedUser): Promise<WorkflowRecord> {
  visible(await tasks.getWorkflow(id), user);
  try {
    return visible(await tasks.revokeWorkflow(id), user);
  } catch (err) {
    throw err instanceof TaskFinishedError ? new WorkflowFinished({ cause: err }) : err;
  }
}
