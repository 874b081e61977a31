/**
 * What the children of a sandboxed pool (`conveyor worker --pool threads|process`) load:
 * BullMQ's child runtime calls the default export for each job. It registers the same tasks
 * as its worker (the built-ins, then TASK_MODULES, which the worker sets to its own list and
 * `--include`), and only runs handlers: the worker claims and records (tasks/worker.ts).
 */
import type { SandboxedJob } from 'bullmq';
import pino from 'pino';
import { loadConfig } from '../config/index.ts';
import type { TaskJobData } from '../tasks/backend.ts';
import { childProcessor } from '../tasks/execute.ts';
import { buildRegistry } from './runtime.ts';

const config = loadConfig();
const run = buildRegistry(config).then((registry) => childProcessor(registry, pino({ level: config.LOG_LEVEL, name: 'task' })));

export default async function sandboxed(job: SandboxedJob<TaskJobData>, token?: string, signal?: AbortSignal): Promise<unknown> {
  return (await run)(job, token, signal);
}
