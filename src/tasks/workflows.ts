/**
 * Workflows on the task table: planning a canvas into rows, and reading one back with its
 * state, which is its tasks' (nothing is kept twice).
 */
import { plan, resolveSpec, InvalidCanvasError, type CanvasNode } from './canvas.ts';
import { InvalidArgsError } from './errors.ts';
import type { NewTask, WorkflowRow } from './records.ts';
import { toRecord } from './records.ts';
import type { TaskRegistry } from './registry.ts';
import type { TaskRow } from './table.ts';
import { finishedStates, type TaskState, type WorkflowOptions, type WorkflowRecord } from './types.ts';
import { validateArgs } from './validate.ts';

/** The rows of a new workflow (none dispatched: the relay hands each over when it is ready). */
export function planRows(registry: TaskRegistry, canvas: CanvasNode, workflowId: string, opts: WorkflowOptions) {
  const planned = plan(canvas);
  const issues: { field: string; message: string }[] = [];
  const rows: NewTask[] = planned.tasks.map((t) => {
    const task = registry.get(t.name);
    if (!task) issues.push({ field: `${t.path}.task`, message: `is not a known task: ${JSON.stringify(t.name)}` });
    else {
      try {
        validateArgs(task, t.args);
      } catch (err) {
        if (!(err instanceof InvalidArgsError)) throw err;
        for (const i of err.issues) issues.push({ field: `${t.path}.${i.field}`, message: i.message });
      }
    }
    const o = t.options;
    return {
      id: t.id,
      name: t.name,
      queue: task?.options.queue ?? 'default',
      args: t.args,
      createdBy: opts.createdBy ?? null,
      requestId: opts.requestId ?? null,
      traceId: null,
      runAt: o.delayMs ? new Date(Date.now() + o.delayMs) : null,
      options: {
        ...(o.retries !== undefined ? { retries: o.retries } : {}),
        ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}),
        ...(o.priority !== undefined ? { priority: o.priority } : {}),
      },
      dispatched: false,
      workflowId,
      deps: t.deps,
      previous: t.previous,
    };
  });
  if (issues.length) throw new InvalidCanvasError(issues.slice(0, 100));
  return { rows, output: planned.output, canvas: planned.canvas };
}

/** The workflow's state from its tasks'. */
function stateOf(workflow: WorkflowRow, tasks: readonly TaskRow[]): TaskState {
  if (workflow.revokedAt) return 'REVOKED';
  if (tasks.some((t) => t.state === 'FAILURE')) return 'FAILURE';
  if (tasks.some((t) => t.state === 'REVOKED')) return 'REVOKED';
  if (tasks.every((t) => t.state === 'SUCCESS')) return 'SUCCESS';
  if (tasks.some((t) => t.state !== 'PENDING')) return 'STARTED';
  return 'PENDING';
}

/** The submitted canvas with each signature's current state beside its task id. */
function annotate(canvas: unknown, states: ReadonlyMap<string, TaskState>): unknown {
  if (Array.isArray(canvas)) return canvas.map((c) => annotate(c, states));
  if (!canvas || typeof canvas !== 'object') return canvas;
  const node = canvas as Record<string, unknown>;
  if (typeof node.task_id === 'string') return { ...node, state: states.get(node.task_id) ?? 'PENDING' };
  return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, annotate(v, states)]));
}

export function toWorkflowRecord(workflow: WorkflowRow, tasks: readonly TaskRow[]): WorkflowRecord {
  const state = stateOf(workflow, tasks);
  const done = tasks.every((t) => finishedStates.has(t.state));
  const finishedAt = done ? new Date(Math.max(...tasks.map((t) => t.finishedAt?.getTime() ?? 0))) : null;
  const results = new Map(tasks.map((t) => [t.id, t.result] as const));
  return {
    id: workflow.id,
    state,
    createdAt: workflow.createdAt,
    finishedAt,
    canvas: annotate(workflow.canvas, new Map(tasks.map((t) => [t.id, t.state] as const))),
    ...(state === 'SUCCESS' ? { result: resolveSpec(workflow.output, results) } : {}),
    createdBy: workflow.createdBy,
    tasks: tasks.map(toRecord),
  };
}
