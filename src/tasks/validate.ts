/** Payload validation against each task's TypeBox schema (compiled once per task). */
import { Compile } from 'typebox/compile';
import type { AnyTask } from './define.ts';
import { InvalidArgsError, type ArgIssue } from './errors.ts';

type Validator = ReturnType<typeof Compile>;
const compiled = new WeakMap<AnyTask, Validator>();

function validatorFor(task: AnyTask): Validator {
  let v = compiled.get(task);
  if (!v) {
    v = Compile(task.payload);
    compiled.set(task, v);
  }
  return v;
}

/** Throws InvalidArgsError listing the offending fields (as `args.<path>`). */
export function validateArgs(task: AnyTask, args: unknown): void {
  const v = validatorFor(task);
  if (v.Check(args)) return;
  const issues: ArgIssue[] = [];
  for (const e of v.Errors(args)) {
    if (e.keyword === 'boolean') continue; // restated by the additionalProperties entry
    const extra = (e.params as { additionalProperties?: string[]; requiredProperties?: string[] }) ?? {};
    const path = e.instancePath.replace(/^\//, '').replaceAll('/', '.');
    const names = extra.additionalProperties ?? extra.requiredProperties;
    if (names?.length) for (const n of names) issues.push({ field: ['args', path, n].filter(Boolean).join('.'), message: e.message });
    else issues.push({ field: ['args', path].filter(Boolean).join('.'), message: e.message });
  }
  throw new InvalidArgsError(task.name, issues);
}
