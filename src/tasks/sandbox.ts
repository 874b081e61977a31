/**
 * The processor file of sandboxed pools (`conveyor worker --pool threads|process`): BullMQ's
 * child runtime loads it in a worker thread or a child process (see pool.ts), so a
 * CPU-bound handler cannot stall the worker's event loop (lock renewal, heartbeats). The
 * registry is rebuilt here from TASK_MODULES (the worker passes its `--include` list through
 * that variable). `signal` is the parent's abort: revocation, time limit or shutdown.
 */
import type { SandboxedJob } from 'bullmq';
import pino from 'pino';
import { loadConfig } from '../config/index.ts';
import type { TaskJobData } from './backend.ts';
import { createProcessor } from './execute.ts';
import { createRegistry } from './index.ts';

const config = loadConfig();
const run = createRegistry(config).then((registry) =>
  createProcessor({ registry, active: new Map(), revoked: new Set(), logger: pino({ level: config.LOG_LEVEL, name: 'task' }) }),
);

export default async function sandboxed(job: SandboxedJob<TaskJobData>, token?: string, signal?: AbortSignal): Promise<unknown> {
  const processor = await run;
  return processor(job as unknown as Parameters<typeof processor>[0], token, signal);
}
