/** What the account verbs share: open the data layer (embedded or server) for one short job. */
import type { Db } from '../db/client.ts';
import { CommandError } from './command.ts';

export async function withAccountsDb<T>(command: string, job: (db: Db) => Promise<T>): Promise<T> {
  const { withDatabase } = await import('../server/runtime.ts');
  try {
    return await withDatabase(command, (rt) => job(rt.data.database.db));
  } catch (err) {
    // Validation and "no such user" are the user's to fix; a taken username comes back as 23505.
    if ((err as { code?: unknown }).code === '23505' || (err as { cause?: { code?: unknown } }).cause?.code === '23505') {
      throw new CommandError('that username is already taken');
    }
    if (err instanceof Error && err.name === 'AccountError') throw new CommandError(err.message);
    throw err;
  }
}
