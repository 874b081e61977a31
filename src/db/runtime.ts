/**
 * Opens the data layer for a process in whichever run mode the config selects:
 * - DATABASE_URL set: a pool on that PostgreSQL server;
 * - embedded, this process owns DATA_DIR: start the embedded PostgreSQL under the lock, migrate;
 * - embedded, another process (`serve`) owns DATA_DIR: connect to its server.
 */
import type { Logger } from 'pino';
import type { Config } from '../config/index.ts';
import { createDatabase, type Database } from './client.ts';
import { endpointUrl, startEmbedded, type EmbeddedServer } from './embedded/index.ts';
import { acquireLock, DataDirLockedError, readLock, type LockInfo } from './embedded/lock.ts';
import { migrateApp } from './migrate.ts';

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
  /** Run migrations when this process starts the embedded database (default true). */
  migrateEmbedded?: boolean;
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
    if (opts.migrateEmbedded ?? true) await migrateApp(database);
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
