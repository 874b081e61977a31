/** The connection pool and the Drizzle handle every component shares. */
import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import type { Logger } from 'pino';
import { connectionLost, DatabaseUnavailableError } from './errors.ts';
import * as schema from './schema.ts';

export type Db = NodePgDatabase<typeof schema>;

export interface Database {
  /** The connection string (for the connections a pool cannot hold, like LISTEN). */
  readonly url: string;
  readonly pool: pg.Pool;
  readonly db: Db;
  close(): Promise<void>;
}

// int8 (count(*), sum over ints) as JS numbers: every count here fits in 2^53.
pg.types.setTypeParser(20, (v) => Number(v));
// numeric (avg) as numbers: the API speaks JSON numbers.
pg.types.setTypeParser(1700, (v) => Number(v));

export interface DatabaseOptions {
  url: string;
  poolSize: number;
  /** How long to wait for a connection before failing (the request then answers 503). */
  connectTimeoutMs: number;
  logger?: Logger;
  applicationName?: string;
}

type Checkout = (err: Error | undefined, client: pg.PoolClient | undefined, done: (release?: unknown) => void) => void;

/**
 * A pool whose failures to hand out a connection (server down, refused, or none free within
 * DB_UNAVAILABLE_TIMEOUT_MS) are DatabaseUnavailableErrors: pg-pool reports those with bare
 * Errors, and only where they come from tells them apart from a failed query.
 */
class Pool extends pg.Pool {
  override connect(): Promise<pg.PoolClient>;
  override connect(callback: Checkout): void;
  override connect(callback?: Checkout): Promise<pg.PoolClient> | void {
    if (callback) return super.connect((err, client, done) => callback(err && new DatabaseUnavailableError(err), client, done));
    return super.connect().catch((err: unknown) => {
      throw new DatabaseUnavailableError(err);
    });
  }
}

export function createDatabase(opts: DatabaseOptions): Database {
  const pool = new Pool({
    connectionString: opts.url,
    max: opts.poolSize,
    connectionTimeoutMillis: opts.connectTimeoutMs,
    idleTimeoutMillis: 30_000,
    keepAlive: true,
    application_name: opts.applicationName ?? 'conveyor',
  });
  let closed: Promise<void> | undefined;
  // An idle client losing its server must not crash the process; the next checkout reconnects.
  // Once closing, pool.end() has only sent each connection its Terminate (it does not wait for
  // the server to see it), so a server stopped right after may still end them: not news.
  pool.on('error', (err) => {
    if (!closed) opts.logger?.warn({ err }, 'idle database connection lost');
  });
  // A connection announces the loss of its server on `error` before it fails its queries
  // with the same error, so those failures are known for what they are (isDatabaseUnavailable).
  pool.on('connect', (client) => client.on('error', connectionLost));
  const db = drizzle(pool, { schema });
  return {
    url: opts.url,
    pool,
    db,
    close: () => (closed ??= pool.end()),
  };
}
