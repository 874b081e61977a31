/** What the account verbs share: open the data layer (embedded or server) for one short job. */
import type { Db } from '../db/client.ts';
import { AccountError } from '../modules/accounts/errors.ts';
import { CommandError } from './command.ts';

export async function withAccountsDb<T>(command: string, job: (db: Db) => Promise<T>): Promise<T> {
  const { withDatabase } = await import('../server/runtime.ts');
  try {
    return await withDatabase(command, (rt) => job(rt.data.database.db));
  } catch (err) {
    // Validation, a taken username and "no such user" are the user's to fix.
    throw err instanceof AccountError ? new CommandError(err.message) : err;
  }
}
