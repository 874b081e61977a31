/**
 * `conveyor worker`: opens the data layer and the broker, registers the tasks and runs
 * them until SIGTERM; then stops in order — worker (drain), queues, database.
 * Imports nothing of the HTTP stack.
 */
import { createLogger } from '../app/logger.ts';
import { CommandError } from '../commands/command.ts';
import { loadConfig, loadDotEnv } from '../config/index.ts';
import { openData } from '../db/runtime.ts';
import { handleSignals } from '../lib/shutdown.ts';
import { openTaskBackend } from '../tasks/backend.ts';
import { createRegistry } from '../tasks/index.ts';
import { startTaskWorker } from '../tasks/worker.ts';

/** The options of `conveyor worker` (see src/commands/worker.ts). */
export interface WorkerCommandOptions {
  concurrency?: number;
  queues?: string;
  include?: string[];
  pool: 'inline' | 'threads' | 'process';
  maxTasksPerChild?: number;
}

export async function runWorker(opts: WorkerCommandOptions): Promise<void> {
  loadDotEnv();
  const config = loadConfig();
  const logger = createLogger(config, 'worker');
  if (opts.maxTasksPerChild !== undefined && opts.pool === 'inline') {
    throw new CommandError('--max-tasks-per-child recycles sandboxed children: use it with --pool threads or --pool process');
  }
  const queues = opts.queues?.split(',').map((q) => q.trim()).filter(Boolean);
  const data = await openData(config, { command: 'worker', logger, poolSize: 4 });
  const registry = await createRegistry(config, opts.include ?? []);
  const concurrency = opts.concurrency ?? config.WORKER_CONCURRENCY;
  const backend = await openTaskBackend(config, {
    databaseUrl: data.url,
    forWorkers: true,
    logger,
    poolSize: Math.min(50, 4 + (queues?.length ?? registry.queues().length) * 2 + Math.ceil(concurrency / 4)),
  });
  const worker = await startTaskWorker({
    config, backend, registry, database: data.database, logger, concurrency, pool: opts.pool, include: opts.include ?? [],
    ...(queues ? { queues } : {}),
    ...(opts.maxTasksPerChild !== undefined ? { maxTasksPerChild: opts.maxTasksPerChild } : {}),
  });
  handleSignals(
    () => [
      { name: 'worker', run: () => worker.close() },
      { name: 'queues', run: () => backend.close() },
      { name: 'database', run: () => data.close() },
    ],
    { graceMs: config.SHUTDOWN_GRACE_MS, logger },
  );
}
