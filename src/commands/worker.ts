import { Option } from 'commander';
import { defineCommand, intOption } from './command.ts';
import type { WorkerCommandOptions } from '../server/worker.ts';

export default defineCommand({
  name: 'worker',
  description: 'Run background tasks; never loads the HTTP stack',
  configure: (cmd) =>
    cmd
      .option('-c, --concurrency <n>', 'tasks run at once per queue (default: WORKER_CONCURRENCY, 16)', intOption(1, 10_000))
      .option('-Q, --queues <q1,q2>', 'queues to consume (default: every queue of the known tasks)')
      .option('-I, --include <module...>', 'modules whose exported tasks are registered (adds to TASK_MODULES)')
      .addOption(new Option('--pool <kind>', 'where handlers run: in this process, or sandboxed').choices(['inline', 'threads', 'process']).default('inline'))
      .option('--max-tasks-per-child <n>', 'recycle a sandboxed child after this many tasks', intOption(1)),
  async run(_args, opts) {
    const { runWorker } = await import('../server/worker.ts');
    await runWorker(opts as unknown as WorkerCommandOptions);
  },
});
