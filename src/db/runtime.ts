/**
 * Opens the data layer for a process in whichever run mode the config selects:
 * - DATABASE_URL set: a pool on that PostgreSQL server;
 * - embedded, this process owns DATA_DIR: start PGlite under the lock, migrate;
 * - embedded, a running `serve` owns DATA_DIR: connect through its socket.
 */
import type { Logger } from 'pino';
import type { Config } from '../config/index.ts';
import { createDatabase, type Database } from './client.ts';
import { startEmbedded, socketDirFor, socketUrl, type EmbeddedServer } from './embedded/index.ts';
import { acquireLock, DataDirLockedError, readLock } from './embedded/lock.ts';
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

export async function openData(config: Config, opts: OpenOptions): Promise<DataRuntime> {
  const poolOpts = {
    poolSize: opts.poolSize ?? config.DB_POOL_SIZE,
    connectTimeoutMs: config.DB_UNAVAILABLE_TIMEOUT_MS,
    applicationName: `conveyor-${opts.command}`,
    ...(opts.logger ? { logger: opts.logger } : {}),
  };
  if (config.DATABASE_URL) {
    const database = createDatabase({ url: config.DATABASE_URL, embedded: false, ...poolOpts });
    return { database, url: config.DATABASE_URL, close: () => database.close() };
  }

  const holder = readLock(config.dataDir);
  if (holder) {
    if (opts.requireOwnership) throw new DataDirLockedError(config.dataDir, holder);
    const url = socketUrl(holder.socketDir);
    opts.logger?.debug({ pid: holder.pid }, 'using the embedded database of a running conveyor serve');
    const database = createDatabase({ url, embedded: true, ...poolOpts });
    return { database, url, close: () => database.close() };
  }

  const release = acquireLock(config.dataDir, { socketDir: socketDirFor(config.dataDir), command: opts.command });
  let embedded: EmbeddedServer | undefined;
  try {
    embedded = await startEmbedded(config.dataDir);
    const database = createDatabase({ url: embedded.url, embedded: true, ...poolOpts });
    if (opts.migrateEmbedded ?? true) await migrateApp(database);
    const server = embedded;
    return {
      database,
      url: server.url,
      embedded: server,
      close: async () => {
        await database.close();
        await server.stop();
        release();
      },
    };
  } catch (err) {
    await embedded?.stop();
    release();
    throw err;
  }
}
