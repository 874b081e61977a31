/**
 * `aiterator`: every matching item as NDJSON, with back-pressure, in flat memory.
 * PostgreSQL: one server-side cursor (pg-cursor's portal) on a dedicated pool client.
 * Embedded PGlite: keyset batches, because an open portal there blocks every other
 * connection (docs/decisions/0002-streaming.md).
 * Each mode reads its first batch before the response starts, so a failing query still
 * answers with a proper error status, and prefetches the next batch while one is written.
 */
import { Readable } from 'node:stream';
import type pg from 'pg';
import type Cursor from 'pg-cursor';
import type { Database, Db } from '../../db/client.ts';
import { toJsonLine } from './mapper.ts';
import { beginCursorTransaction, endCursorTransaction, itemRowsAfter, openItemCursor, type TextRow } from './repository-stream.ts';
import type { ItemStatus } from './table.ts';

/**
 * Rows per cursor read or keyset batch. Measured over 1,000,000 rows on PostgreSQL: 500
 * keeps the peak RSS growth of a fresh server near 15 MiB at the same rows/s, where 1,000
 * let it reach 60–95 MiB (each in-flight batch survives young-generation GCs and is
 * promoted, so bigger batches grow the old generation between full GCs).
 */
export const STREAM_BATCH = 500;
const noop = () => {};

export async function openItemStream(database: Database, status: ItemStatus | undefined): Promise<Readable> {
  const chunks = database.embedded ? await keysetChunks(database, status) : await cursorChunks(database.pool, database.db, status);
  // Object mode: each chunk (one batch of lines) goes to the socket as the string it is,
  // without a Buffer copy; two chunks queued is enough to keep the socket busy.
  return Readable.from(chunks, { objectMode: true, highWaterMark: 2 });
}

function toChunk(rows: TextRow[]): string {
  let chunk = '';
  for (const row of rows) chunk += toJsonLine(row) + '\n';
  return chunk;
}

async function cursorChunks(pool: pg.Pool, db: Db, status: ItemStatus | undefined): Promise<AsyncGenerator<string>> {
  const client = await pool.connect();
  let cursor: Cursor<TextRow> | undefined;
  try {
    await beginCursorTransaction(client);
    cursor = openItemCursor(client, db, status);
    const first = await cursor.read(STREAM_BATCH);
    return fromCursor(client, cursor, first);
  } catch (err) {
    client.release(err as Error); // a connection in an unknown state is closed, not pooled
    throw err;
  }
}

async function* fromCursor(client: pg.PoolClient, cursor: Cursor<TextRow>, first: TextRow[]): AsyncGenerator<string> {
  let failure: Error | undefined;
  let pending: Promise<TextRow[]> | undefined;
  try {
    let rows = first;
    while (rows.length > 0) {
      if (rows.length === STREAM_BATCH) {
        pending = cursor.read(STREAM_BATCH);
        pending.catch(noop); // awaited below; this only stops an unhandled rejection while suspended at yield
      }
      yield toChunk(rows);
      rows = pending ? await pending : [];
      pending = undefined;
    }
  } catch (err) {
    failure = err as Error;
    throw err;
  } finally {
    // Reached on completion, on error, and when the client hangs up (Fastify destroys the
    // stream, which returns this generator): no read may be left in flight, nor the portal
    // and its transaction open, on a connection that goes back to the pool.
    if (pending) await pending.catch((err: Error) => { failure ??= err; });
    await cursor.close().catch((err: Error) => { failure ??= err; });
    if (!failure) await endCursorTransaction(client).catch((err: Error) => { failure = err; });
    client.release(failure);
  }
}

async function keysetChunks(database: Database, status: ItemStatus | undefined): Promise<AsyncGenerator<string>> {
  const { pool, db } = database;
  const next = (after: number) => itemRowsAfter(pool, db, status, after, STREAM_BATCH);
  return fromKeyset(next, await next(0));
}

async function* fromKeyset(next: (after: number) => Promise<TextRow[]>, first: TextRow[]): AsyncGenerator<string> {
  let rows = first;
  while (rows.length > 0) {
    let pending: Promise<TextRow[]> | undefined;
    if (rows.length === STREAM_BATCH) {
      pending = next(Number(rows[rows.length - 1]![0]));
      pending.catch(noop); // a short pool query: abandoning it on disconnect leaks nothing
    }
    yield toChunk(rows);
    rows = pending ? await pending : [];
  }
}
