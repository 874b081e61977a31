/**
 * Opens the data layer for a process in whichever run mode the config selects:
 * - DATABASE_URL set: a pool on that PostgreSQL server;
 * - embedded, this process owns DATA_DIR: start the embedded PostgreSQL under the lock, migrate;
 * - embedded, another process (`serve`) owns DATA_DIR: connect to its server.
 */
import type { Logger } from 'pino';
import type { Config } from '../config/index.ts';
import { ExpectedError } from '../lib/errors.ts';
import { createDatabase, type Database } from './client.ts';
import { driverError } from './errors.ts';
import { endpointUrl, startEmbedded, type EmbeddedServer } from './embedded/index.ts';
import { acquireLock, DataDirLockedError, readLock, type LockInfo } from './embedded/lock.ts';
import { assertMigrated, migrateApp } from './migrate.ts';

export interface DataRuntime {
  readonly database: Database;
  /** The connection string other processes of this run (e.g. `serve --workers`) use. */
  readonly url: string;
  /** Set when this process owns the embedded database. */
  readonly embedded?: EmbeddedServer;
  close(): Promise<void>;
}

export interface OpenOptions {
  /** The CLI verb opening the data layer (recorded in the lock file). */
  command: string;
  /** `serve` must own an embedded folder; other verbs may share a running one. */
  requireOwnership?: boolean;
  poolSize?: number;
  logger?: Logger;
  /**
   * Embedded: run the migrations when this process starts the server (default true).
   * PostgreSQL: refuse a database that lacks migrations (default true; `migrate` itself and
   * the test helpers open it unmigrated).
   */
  migrate?: boolean;
}

/** A database that cannot be reached at start is the user's to fix: one line naming it, no stack. */
export class DatabaseUnreachableError extends ExpectedError {
  override name = 'DatabaseUnreachableError';
}

const connectionCodes = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ETIMEDOUT', 'ECONNRESET', '28P01', '28000', '3D000', '57P03']);

function unreachable(err: unknown, url: string): unknown {
  const failure = driverError(err);
  if (!failure || !connectionCodes.has(failure.code)) return err;
  const u = new URL(url);
  return new DatabaseUnreachableError(`cannot use the database ${u.hostname}:${u.port || 5432}${u.pathname} (DATABASE_URL): ${failure.message || failure.code}`, { cause: err });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The owner publishes where its server listens once it is ready; a start takes a second or two. */
async function endpointOf(dataDir: string, holder: LockInfo): Promise<LockInfo> {
  for (let waited = 0; !holder.endpoint; waited += 50) {
    if (waited > 60_000) throw new DataDirLockedError(dataDir, holder);
    await sleep(50);
    const now = readLock(dataDir);
    if (!now) throw new DataDirLockedError(dataDir, holder); // it exited while starting
    holder = now;
  }
  return holder;
}

export async function openData(config: Config, opts: OpenOptions): Promise<DataRuntime> {
  const poolOpts = {
    poolSize: opts.poolSize ?? config.DB_POOL_SIZE,
    connectTimeoutMs: config.DB_UNAVAILABLE_TIMEOUT_MS,
    applicationName: `conveyor-${opts.command}`,
    ...(opts.logger ? { logger: opts.logger } : {}),
  };
  if (config.DATABASE_URL) {
    const database = createDatabase({ url: config.DATABASE_URL, ...poolOpts });
    try {
      if (opts.migrate ?? true) await assertMigrated(database);
      else await database.pool.query('SELECT 1');
    } catch (err) {
      await database.close();
      throw unreachable(err, config.DATABASE_URL);
    }
    return { database, url: config.DATABASE_URL, close: () => database.close() };
  }

  const holder = readLock(config.dataDir);
  if (holder) {
    if (opts.requireOwnership) throw new DataDirLockedError(config.dataDir, holder);
    const { endpoint, pid } = await endpointOf(config.dataDir, holder);
    const url = endpointUrl(config.dataDir, endpoint!);
    opts.logger?.debug({ pid }, `using the embedded database of a running conveyor ${holder.command}`);
    const database = createDatabase({ url, ...poolOpts });
    return { database, url, close: () => database.close() };
  }

  const lock = acquireLock(config.dataDir, { command: opts.command });
  let embedded: EmbeddedServer | undefined;
  try {
    embedded = await startEmbedded(config.dataDir, opts.logger ? { logger: opts.logger } : {});
    const database = createDatabase({ url: embedded.url, ...poolOpts });
    if (opts.migrate ?? true) await migrateApp(database);
    lock.publish(embedded.endpoint);
    const server = embedded;
    return {
      database,
      url: server.url,
      embedded: server,
      close: async () => {
        await database.close();
        await server.stop();
        lock.release();
      },
    };
  } catch (err) {
    await embedded?.stop();
    lock.release();
    throw err;
  }
}
