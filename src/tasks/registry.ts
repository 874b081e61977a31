/**
 * The task registry: which tasks this process knows, by name. Built-ins come from
 * `builtinTasks()`; more come from modules named in TASK_MODULES / `--include`
 * (Celery's `include=`), each exporting task definitions.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { AnyTask, TaskDefinition } from './define.ts';
import type { TSchema } from 'typebox';

export class TaskRegistry {
  readonly #tasks = new Map<string, AnyTask>();

  constructor(tasks: Iterable<AnyTask> = []) {
    for (const t of tasks) this.add(t);
  }

  add<S extends TSchema, R>(task: TaskDefinition<S, R>): this {
    const existing = this.#tasks.get(task.name);
    if (existing && existing !== (task as unknown as AnyTask)) throw new Error(`task ${task.name} is defined twice`);
    this.#tasks.set(task.name, task as unknown as AnyTask);
    return this;
  }

  get(name: string): AnyTask | undefined {
    return this.#tasks.get(name);
  }

  all(): AnyTask[] {
    return [...this.#tasks.values()];
  }

  /** Every queue some task Conveyor's workers run goes to (`default` always included); Celery tasks' queues are Python's. */
  queues(): string[] {
    return [...new Set(['default', ...this.all().filter((t) => !('celeryTarget' in t)).map((t) => t.options.queue ?? 'default')])];
  }
}

function isTask(v: unknown): v is AnyTask {
  return typeof v === 'object' && v !== null && typeof (v as AnyTask).name === 'string' && typeof (v as AnyTask).handler === 'function' && 'payload' in v;
}

/** Import each module and register every task definition it exports. */
export async function loadTaskModules(registry: TaskRegistry, modules: readonly string[]): Promise<TaskRegistry> {
  for (const m of modules) {
    const spec = m.startsWith('.') || path.isAbsolute(m) ? pathToFileURL(path.resolve(m)).href : m;
    const mod = (await import(spec)) as Record<string, unknown>;
    for (const value of Object.values(mod)) if (isTask(value)) registry.add(value);
  }
  return registry;
}
