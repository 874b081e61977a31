/**
 * The stream's rows: one server-side cursor (pg-cursor's portal) on a dedicated pool client,
 * read a batch at a time, each batch turned into NDJSON bytes as it arrives; the next batch
 * is prefetched while the current one is written. Drizzle has no streaming for pg, so the
 * builder writes the query and pg-cursor runs it, every column as PostgreSQL's text.
 */
import { asc } from 'drizzle-orm';
import type pg from 'pg';
import Cursor from 'pg-cursor';
import type { Database } from '../../../db/client.ts';
import type { ItemStatus } from '../status.ts';
import { items } from '../table.ts';
import { whereStatus } from './queries.ts';
import { asText, textColumns, toJsonLine, type TextRow } from './rows.ts';
import type { Executor } from './statements.ts';

/** A server-side cursor (a portal read in batches) over every matching item, by id. */
function openItemCursor(client: pg.PoolClient, db: Executor, status: ItemStatus | undefined): Cursor<TextRow> {
  const q = db.select(textColumns).from(items).where(whereStatus(status)).orderBy(asc(items.id)).toSQL();
  return client.query(new Cursor<TextRow>(q.sql, q.params, { rowMode: 'array', types: asText }));
}

/**
 * Opens the cursor's transaction. Without statistics (right after a bulk load, before
 * autovacuum's analyze) the planner prefers a full sort for `ORDER BY id` with no LIMIT:
 * the first row would wait for the whole table to be sorted, spilled to disk.
 * `enable_sort = off` makes it walk the id index instead; JIT would only delay the first row.
 */
async function beginCursorTransaction(client: pg.PoolClient): Promise<void> {
  await client.query('begin read only; set local enable_sort = off; set local jit = off');
}

/**
 * Rows per cursor read. Measured over 1,000,000 rows on PostgreSQL: 500
 * keeps the peak RSS growth of a fresh server near 15 MiB at the same rows/s, where 1,000
 * let it reach 60–95 MiB (each in-flight batch survives young-generation GCs and is
 * promoted, so bigger batches grow the old generation between full GCs).
 */
export const STREAM_BATCH = 500;

export interface ChunkSource {
  /** The next chunk of NDJSON lines, or null after the last. Never called concurrently. */
  next(): Promise<Buffer | null>;
  /** Release what the source holds. Idempotent; may run while a next() is pending. */
  close(failed: boolean): Promise<void>;
}

const noop = () => {};

/**
 * A batch as its NDJSON bytes, made as soon as the batch arrives: the rows and strings die
 * young, and what waits for a slow client is off-heap. Rows or strings kept waiting would
 * survive young-generation GCs and be promoted, growing the old generation (and RSS) by
 * tens of MiB between full GCs.
 */
function toChunk(rows: TextRow[]): Chunk {
  const lines = new Array<string>(rows.length + 1);
  for (let i = 0; i < rows.length; i++) lines[i] = toJsonLine(rows[i]!);
  lines[rows.length] = '';
  return { bytes: Buffer.from(lines.join('\n')), rows: rows.length };
}

/** One batch, encoded: its bytes and how many rows it held. */
interface Chunk {
  readonly bytes: Buffer;
  readonly rows: number;
}

/** Batches in order: `first`, then whatever `fetchNext` returns (read ahead), until a short batch. */
function batches(first: TextRow[], fetchNext: () => Promise<TextRow[]>) {
  let ready: Chunk | undefined = toChunk(first);
  let pending: Promise<Chunk> | undefined;
  let stopped = false;
  return {
    async next(): Promise<Buffer | null> {
      let chunk = ready;
      ready = undefined;
      if (chunk === undefined && pending) {
        chunk = await pending;
        pending = undefined;
      }
      if (stopped || !chunk || chunk.rows === 0) return null;
      if (chunk.rows === STREAM_BATCH) {
        pending = fetchNext().then(toChunk);
        pending.catch(noop); // awaited by next() or stop(); this only avoids an unhandled rejection in between
      }
      return chunk.bytes;
    },
    /** No more reads; resolves once none is in flight (with its error, if it failed). */
    async stop(): Promise<Error | undefined> {
      stopped = true;
      const inFlight = pending;
      pending = undefined;
      return inFlight?.then(() => undefined, (err: Error) => err);
    },
  };
}

export async function cursorSource(database: Database, status: ItemStatus | undefined): Promise<ChunkSource> {
  const client = await database.pool.connect();
  let cursor: Cursor<TextRow>;
  let first: TextRow[];
  try {
    await beginCursorTransaction(client);
    cursor = openItemCursor(client, database.db, status);
    first = await cursor.read(STREAM_BATCH);
  } catch (err) {
    client.release(err as Error); // a connection in an unknown state is closed, not pooled
    throw err;
  }
  const reader = batches(first, () => cursor.read(STREAM_BATCH));
  let closing: Promise<void> | undefined;
  return {
    next: reader.next,
    close: (failed) => (closing ??= closeCursor(client, cursor, reader.stop, failed)),
  };
}

/** No read in flight, portal closed, transaction ended, client back in the pool (or destroyed after an error). */
async function closeCursor(client: pg.PoolClient, cursor: Cursor<TextRow>, stop: () => Promise<Error | undefined>, failed: boolean): Promise<void> {
  let failure = (await stop()) ?? (failed ? new Error('stream failed') : undefined);
  await cursor.close().catch((err: Error) => { failure ??= err; });
  if (!failure) await client.query('commit').catch((err: Error) => { failure = err; });
  client.release(failure);
}
