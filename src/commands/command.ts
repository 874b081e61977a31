/** The shape of a CLI verb: a description, options, a handler. */
import { InvalidArgumentError, type Command } from 'commander';
import { ExpectedError } from '../lib/errors.ts';

export interface CommandDef {
  readonly name: string;
  readonly description: string;
  /** Declare arguments and options on the commander command. */
  configure(cmd: Command): Command;
  /** Run the verb. Heavy modules are imported inside, so each verb loads only what it needs. */
  run(args: string[], opts: Record<string, unknown>): Promise<void>;
}

export function defineCommand(def: CommandDef): CommandDef {
  return def;
}

/** Commander option parser for a positive integer within bounds. */
export function intOption(min: number, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`expected an integer from ${min} to ${max}`);
    return n;
  };
}

/** A failure the user can fix: printed as one clear line, exit code 1, no stack. */
export class CommandError extends ExpectedError {
  override name = 'CommandError';
}
