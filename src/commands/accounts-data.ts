/** What the account verbs share: open the data layer (embedded or server) for one short job. */
import type { Db } from '../db/client.ts';
import { CommandError } from './command.ts';

export async function withAccountsDb<T>(command: string, job: (db: Db) => Promise<T>): Promise<T> {
  const { loadConfig, loadDotEnv } = await import('../config/index.ts');
  const { createLogger } = await import('../app/logger.ts');
  const { openData } = await import('../db/runtime.ts');
  loadDotEnv();
  const config = loadConfig();
  const logger = createLogger(config, command);
  const data = await openData(config, { command, logger, poolSize: 2 });
  try {
    return await job(data.database.db);
  } catch (err) {
    // Validation and "no such user" are the user's to fix; a taken username comes back as 23505.
    if ((err as { code?: unknown }).code === '23505' || (err as { cause?: { code?: unknown } }).cause?.code === '23505') {
      throw new CommandError('that username is already taken');
    }
    if (err instanceof Error && err.name === 'AccountError') throw new CommandError(err.message);
    throw err;
  } finally {
    await data.close();
  }
}
