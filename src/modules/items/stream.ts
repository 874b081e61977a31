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
import Cursor from 'pg-cursor';
import type { Database, Db } from '../../db/client.ts';
import { jsonLinesAfter, jsonLinesQuery } from './repository-stream.ts';
import type { ItemStatus } from './table.ts';

/** Rows per cursor read or keyset batch (~200 KiB of JSON for typical items). */
export const STREAM_BATCH = 1000;
const HIGH_WATER_MARK = 256 * 1024;
const noop = () => {};

export async function openItemStream(database: Database, status: ItemStatus | undefined): Promise<Readable> {
  const chunks = database.embedded ? await keysetChunks(database.db, status) : await cursorChunks(database.pool, database.db, status);
  return Readable.from(chunks, { objectMode: false, highWaterMark: HIGH_WATER_MARK });
}

function joinLines(lines: string[]): string {
  return lines.join('\n') + '\n';
}

async function cursorChunks(pool: pg.Pool, db: Db, status: ItemStatus | undefined): Promise<AsyncGenerator<string>> {
  const { sql, params } = jsonLinesQuery(db, status);
  const client = await pool.connect();
  try {
    const cursor = client.query(new Cursor<[string]>(sql, params, { rowMode: 'array' }));
    const first = await cursor.read(STREAM_BATCH);
    return fromCursor(client, cursor, first);
  } catch (err) {
    client.release(err as Error);
    throw err;
  }
}

async function* fromCursor(client: pg.PoolClient, cursor: Cursor<[string]>, first: [string][]): AsyncGenerator<string> {
  let failure: Error | undefined;
  let pending: Promise<[string][]> | undefined;
  try {
    let rows = first;
    while (rows.length > 0) {
      const lines = rows.map((r) => r[0]);
      if (rows.length === STREAM_BATCH) {
        pending = cursor.read(STREAM_BATCH);
        pending.catch(noop); // awaited below; this only stops an unhandled rejection while suspended at yield
      }
      yield joinLines(lines);
      rows = pending ? await pending : [];
      pending = undefined;
    }
  } catch (err) {
    failure = err as Error;
    throw err;
  } finally {
    // Reached on completion, on error, and when the client disconnects (Fastify destroys
    // the stream, which returns this generator): never leave a read in flight or the
    // portal open on a connection going back to the pool.
    if (pending) await pending.catch((err: Error) => { failure ??= err; });
    await cursor.close().catch((err: Error) => { failure ??= err; });
    client.release(failure); // an error destroys the connection instead of pooling it
  }
}

async function keysetChunks(db: Db, status: ItemStatus | undefined): Promise<AsyncGenerator<string>> {
  return fromKeyset(db, status, await jsonLinesAfter(db, status, 0, STREAM_BATCH));
}

async function* fromKeyset(db: Db, status: ItemStatus | undefined, first: { id: number; line: string }[]): AsyncGenerator<string> {
  let rows = first;
  while (rows.length > 0) {
    let next: Promise<{ id: number; line: string }[]> | undefined;
    if (rows.length === STREAM_BATCH) {
      next = jsonLinesAfter(db, status, rows[rows.length - 1]!.id, STREAM_BATCH);
      next.catch(noop); // a short pool query: abandoning it on disconnect leaks nothing
    }
    yield joinLines(rows.map((r) => r.line));
    rows = next ? await next : [];
  }
}
