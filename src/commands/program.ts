/** `conveyor <verb>`: one module per verb in src/commands, loaded only when chosen. */
import { Command } from 'commander';
import pkg from '../../package.json' with { type: 'json' };
import { ExpectedError } from '../lib/errors.ts';
import type { CommandDef } from './command.ts';

const verbs: Record<string, () => Promise<{ default: CommandDef }>> = {
  serve: () => import('./serve.ts'),
  migrate: () => import('./migrate.ts'),
  seed: () => import('./seed.ts'),
  createuser: () => import('./createuser.ts'),
  createtoken: () => import('./createtoken.ts'),
  revoketoken: () => import('./revoketoken.ts'),
  worker: () => import('./worker.ts'),
  monitor: () => import('./monitor.ts'),
};


async function main(argv: string[]): Promise<void> {
  const program = new Command('conveyor').version(pkg.version).description(pkg.description).showHelpAfterError();
  // Only the chosen verb's module is imported (a worker never loads the HTTP stack);
  // `--help` without a verb loads them all to list them.
  const chosen = argv[2];
  const names = chosen && chosen in verbs ? [chosen] : Object.keys(verbs);
  // Before any verb module: tracing patches http, pg and fastify as they are imported.
  await (await import('../server/tracing.ts')).startTracingIfConfigured();
  for (const name of names) {
    const def = (await verbs[name]!()).default;
    const cmd = def.configure(program.command(def.name).description(def.description));
    cmd.action(async (...actionArgs: unknown[]) => {
      const command = actionArgs.at(-1) as Command;
      await def.run(command.args, command.opts());
    });
  }
  await program.parseAsync(argv);
}

/** The error with its cause chain (Drizzle wraps the driver's error, which says what went wrong). */
function describe(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err, depth = 0; e !== undefined && depth < 5; e = e instanceof Error ? e.cause : undefined, depth++) {
    parts.push(depth === 0 && e instanceof Error ? (e.stack ?? e.message) : `caused by: ${e instanceof Error ? e.message : String(e)}`);
  }
  return parts.join('\n');
}

main(process.argv).catch((err: unknown) => {
  if (err instanceof ExpectedError) {
    process.stderr.write(`conveyor: ${err.message}\n`);
  } else {
    process.stderr.write(`conveyor: unexpected failure: ${describe(err)}\n`);
  }
  process.exit(1);
});
