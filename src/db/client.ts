/** The connection pool and the Drizzle handle every component shares. */
import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import type { Logger } from 'pino';
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

export function createDatabase(opts: DatabaseOptions): Database {
  const pool = new pg.Pool({
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
  const db = drizzle(pool, { schema });
  return {
    url: opts.url,
    pool,
    db,
    close: () => (closed ??= pool.end()),
  };
}

const unavailableCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EHOSTUNREACH', 'ETIMEDOUT', 'EPIPE', 'ENOENT', '57P01', '57P02', '57P03', '53300']);

/** Whether an error means "the database cannot be reached right now" (→ 503), as opposed to a bad query. */
export function isUnavailableError(err: unknown): boolean {
  // Drizzle wraps driver errors (DrizzleQueryError); the pg error is further down the cause chain.
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (unavailableCodes.has(code) || code.startsWith('08'))) return true;
    if (/timeout exceeded when trying to connect|Connection terminated|connection timeout|Client has encountered a connection error|Too many connections/i.test(e.message)) return true;
  }
  return false;
}
