/**
 * `conveyor worker`: the composition root's `worker` role — data, broker, the registered
 * tasks and a worker running them until SIGTERM; then it stops in order: worker (drain),
 * queues, database. Imports nothing of the HTTP stack.
 */
import { ExpectedError } from '../lib/errors.ts';
import { handleSignals } from '../lib/shutdown.ts';
import { bootstrap, buildRuntime } from './runtime.ts';

/** The options of `conveyor worker` (see src/commands/worker.ts). */
export interface WorkerCommandOptions {
  concurrency?: number;
  queues?: string;
  include?: string[];
  pool: 'inline' | 'threads' | 'process';
  maxTasksPerChild?: number;
}

export async function runWorker(opts: WorkerCommandOptions): Promise<void> {
  const base = bootstrap('worker');
  if (opts.maxTasksPerChild !== undefined && opts.pool === 'inline') {
    throw new ExpectedError('--max-tasks-per-child recycles sandboxed children: use it with --pool threads or --pool process');
  }
  const queues = opts.queues?.split(',').map((q) => q.trim()).filter(Boolean);
  const rt = await buildRuntime('worker', base, {
    worker: true,
    ...(opts.include ? { include: opts.include } : {}),
    workerOptions: {
      pool: opts.pool,
      ...(queues?.length ? { queues } : {}),
      ...(opts.concurrency !== undefined ? { concurrency: opts.concurrency } : {}),
      ...(opts.maxTasksPerChild !== undefined ? { maxTasksPerChild: opts.maxTasksPerChild } : {}),
    },
  });
  handleSignals(() => rt.steps(), { graceMs: base.config.SHUTDOWN_GRACE_MS, logger: base.logger });
}
