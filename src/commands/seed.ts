import { Option } from 'commander';
import { CommandError, defineCommand, intOption } from './command.ts';

/** Progress on stderr: a bar on a terminal, a plain line every ~10% otherwise (logs, CI, pipes). */
async function progressReporter(total: number): Promise<{ update(n: number): void; stop(): void }> {
  if (process.stderr.isTTY) {
    const { SingleBar, Presets } = await import('cli-progress');
    const bar = new SingleBar(
      { format: 'seed [{bar}] {percentage}% | {value}/{total} items | {rate} items/s | ETA {eta_formatted}', stream: process.stderr, hideCursor: true },
      Presets.shades_classic,
    );
    const started = Date.now();
    bar.start(total, 0, { rate: 0 });
    return {
      update: (n) => bar.update(n, { rate: Math.round(n / Math.max(0.001, (Date.now() - started) / 1000)) }),
      stop: () => bar.stop(),
    };
  }
  let nextReport = total / 10;
  return {
    update(n) {
      if (n < nextReport && n < total) return;
      nextReport = n + total / 10;
      process.stderr.write(`seed: ${n}/${total} items (${Math.floor((n / total) * 100)}%)\n`);
    },
    stop() {},
  };
}

export default defineCommand({
  name: 'seed',
  description: 'Insert N items with random status, score and description, with a progress bar',
  configure: (cmd) =>
    cmd
      .requiredOption('--items <n>', 'how many items to insert', intOption(1, 100_000_000))
      .addOption(new Option('--batch <n>', 'rows per INSERT statement').default(5000).argParser(intOption(1, 50_000))),
  async run(_args, opts) {
    const { withDatabase } = await import('../server/runtime.ts');
    const { seedItems, newRunId } = await import('../modules/items/seed.ts');
    const { createItemRepository } = await import('../modules/items/repository/index.ts');
    const { driverError } = await import('../db/errors.ts');
    const total = opts.items as number;
    await withDatabase('seed', async ({ data }) => {
      const runId = newRunId();
      const progress = await progressReporter(total);
      let inserted = 0;
      const started = Date.now();
      try {
        await seedItems(createItemRepository(data.database), {
          count: total,
          batchSize: opts.batch as number,
          runId,
          onProgress: (n) => { inserted = n; progress.update(n); },
        });
      } catch (err) {
        // The driver's own words, never Drizzle's message (it lists the statement's parameters).
        const cause = driverError(err) ?? (err as Error);
        throw new CommandError(`seeding failed after ${inserted} of ${total} items: ${cause.message}`);
      } finally {
        progress.stop();
      }
      const secs = (Date.now() - started) / 1000;
      process.stdout.write(`inserted ${inserted} items (item-${runId}-1 … item-${runId}-${inserted}) in ${secs.toFixed(1)} s\n`);
    });
  },
});
