/**
 * A failure the user can act on (bad configuration, a database not migrated yet, a folder in
 * use): the CLI prints its message as one line and exits 1, without a stack trace. Anything
 * else that reaches the CLI is a bug and is printed whole.
 */
export class ExpectedError extends Error {
  override name = 'ExpectedError';
}
