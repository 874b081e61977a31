/**
 * Celery's canvas: signatures composed into chains, groups and chords, as data (the shape
 * `POST /api/workflows` takes) and in code (`task.s(args)`, `chain(…)`, `group(…)`,
 * `chord(…)`, with types that follow each step's result into the next one's `ctx.previous`).
 *
 * A canvas compiles to tasks and the edges between them: each task lists the tasks that must
 * succeed before it runs (`deps`) and what its `ctx.previous` is made of (`previous`): a
 * chain step gets its predecessor's result, whatever follows a group or a chord header gets
 * the array of their results in order.
 */
import { randomUUID } from 'node:crypto';
import type { PreviousSpec } from './table.ts';
import type { EnqueueOptions } from './types.ts';

/** Options a signature may carry (a subset of enqueue options). */
export type SignatureOptions = Pick<EnqueueOptions, 'delayMs' | 'retries' | 'timeoutMs' | 'priority'>;

export interface SignatureNode {
  readonly task: string;
  readonly args?: unknown;
  readonly options?: SignatureOptions;
}
export type CanvasNode =
  | SignatureNode
  | { readonly chain: readonly CanvasNode[] }
  | { readonly group: readonly CanvasNode[] }
  | { readonly chord: { readonly header: readonly CanvasNode[]; readonly body: CanvasNode } };

/** Most tasks in one workflow, and deepest nesting (the contract's limits). */
export const MAX_WORKFLOW_TASKS = 1_000;
export const MAX_WORKFLOW_DEPTH = 10;

/** A canvas the engine cannot run: what is wrong, and where (a path like `chain.2.group.0`). */
export class InvalidCanvasError extends Error {
  override name = 'InvalidCanvasError';
  readonly issues: readonly { field: string; message: string }[];
  constructor(issues: readonly { field: string; message: string }[]) {
    super(issues[0]?.message ?? 'invalid workflow');
    this.issues = issues;
  }
}

export interface PlannedTask {
  readonly id: string;
  readonly name: string;
  readonly args: unknown;
  readonly options: SignatureOptions;
  readonly deps: readonly string[];
  readonly previous: PreviousSpec | null;
  /** Where it sits in the submitted canvas (for error messages). */
  readonly path: string;
}

export interface Plan {
  /** In document order. */
  readonly tasks: readonly PlannedTask[];
  /** The workflow's result: its last step's, or a group's array. */
  readonly output: PreviousSpec;
  /** The canvas as submitted, each signature with its `task_id`. */
  readonly canvas: unknown;
}

const isSignature = (n: CanvasNode): n is SignatureNode => typeof (n as SignatureNode).task === 'string';

/**
 * Give every signature a task, its dependencies and its `previous`. Checks the structure
 * (lists not empty, depth, size); the task names and arguments are the caller's to check.
 */
export function plan(root: CanvasNode): Plan {
  const tasks: PlannedTask[] = [];
  const issues: { field: string; message: string }[] = [];

  type Compiled = { terminals: string[]; output: PreviousSpec; canvas: unknown };
  const walk = (node: CanvasNode, deps: string[], previous: PreviousSpec | null, path: string, depth: number): Compiled => {
    const at = path || 'workflow';
    if (depth > MAX_WORKFLOW_DEPTH) {
      issues.push({ field: at, message: `nests deeper than ${MAX_WORKFLOW_DEPTH} levels` });
      return { terminals: deps, output: [], canvas: null };
    }
    if (isSignature(node)) {
      const id = randomUUID();
      tasks.push({ id, name: node.task, args: node.args ?? {}, options: node.options ?? {}, deps, previous, path: at });
      return { terminals: [id], output: { task: id }, canvas: { ...node, task_id: id } };
    }
    const list = (items: readonly CanvasNode[], key: string) => {
      if (!Array.isArray(items) || items.length === 0) issues.push({ field: `${path ? `${path}.` : ''}${key}`, message: 'must not be empty' });
      return Array.isArray(items) ? items : [];
    };
    if ('chain' in node) {
      let d = deps;
      let p = previous;
      let last: Compiled = { terminals: deps, output: previous ?? [], canvas: null };
      const steps = list(node.chain, 'chain').map((step, i) => {
        last = walk(step, d, p, `${path ? `${path}.` : ''}chain.${i}`, depth + 1);
        d = last.terminals;
        p = last.output;
        return last.canvas;
      });
      return { terminals: last.terminals, output: last.output, canvas: { chain: steps } };
    }
    if ('group' in node) {
      const members = list(node.group, 'group').map((m, i) => walk(m, deps, previous, `${path ? `${path}.` : ''}group.${i}`, depth + 1));
      return { terminals: members.flatMap((m) => m.terminals), output: members.map((m) => m.output), canvas: { group: members.map((m) => m.canvas) } };
    }
    if ('chord' in node && node.chord && typeof node.chord === 'object') {
      const base = `${path ? `${path}.` : ''}chord`;
      const header = list(node.chord.header, 'chord.header').map((m, i) => walk(m, deps, previous, `${base}.header.${i}`, depth + 1));
      const body = walk(node.chord.body, header.flatMap((h) => h.terminals), header.map((h) => h.output), `${base}.body`, depth + 1);
      return { terminals: body.terminals, output: body.output, canvas: { chord: { header: header.map((h) => h.canvas), body: body.canvas } } };
    }
    issues.push({ field: at, message: 'must be a signature {task, args}, or {chain}, {group} or {chord: {header, body}}' });
    return { terminals: deps, output: [], canvas: null };
  };

  const compiled = walk(root, [], null, '', 1);
  if (tasks.length > MAX_WORKFLOW_TASKS) issues.unshift({ field: 'workflow', message: `has ${tasks.length} tasks; at most ${MAX_WORKFLOW_TASKS}` });
  if (issues.length) throw new InvalidCanvasError(issues.slice(0, 100));
  return { tasks, output: compiled.output, canvas: compiled.canvas };
}

/** Every task id a PreviousSpec reads. */
export function specTasks(spec: PreviousSpec | null | undefined, into: string[] = []): string[] {
  if (!spec) return into;
  if (Array.isArray(spec)) for (const s of spec) specTasks(s, into);
  else into.push((spec as { task: string }).task);
  return into;
}

/** The value of a PreviousSpec, given the results of the tasks it reads. */
export function resolveSpec(spec: PreviousSpec, results: ReadonlyMap<string, unknown>): unknown {
  if (Array.isArray(spec)) return spec.map((s) => resolveSpec(s, results));
  return results.get((spec as { task: string }).task) ?? null;
}
