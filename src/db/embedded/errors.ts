/**
 * A reason embedded mode cannot start that the user can act on (wrong platform, an old data
 * folder, a server that would not start): the CLI prints its message as one line, no stack.
 */
import { ExpectedError } from '../../lib/errors.ts';

export class EmbeddedDatabaseError extends ExpectedError {
  override name = 'EmbeddedDatabaseError';
}
