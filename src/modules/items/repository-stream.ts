/**
 * The stream's SQL. PostgreSQL renders each item as its JSON line (`row_to_json`), so the
 * Node process only forwards text: the serialisation runs in C on the database's core
 * instead of in JavaScript on the one serving HTTP. Keys and formats match `toItem`
 * (timestamps as `toISOString()` writes them: UTC, milliseconds, `Z`).
 */
import { asc, gt, sql, type AnyColumn } from 'drizzle-orm';
import type { Executor } from './repository.ts';
import { whereStatus } from './repository.ts';
import { items, type ItemStatus } from './table.ts';

const iso = (c: AnyColumn) => sql<string>`to_char(${c} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
const line = sql<string>`row_to_json(${sql.identifier('t')})::text`;

function itemRecords(db: Executor, status: ItemStatus | undefined) {
  return db
    .select({
      id: items.id,
      name: items.name,
      description: items.description,
      status: items.status,
      score: items.score,
      created_at: iso(items.createdAt).as('created_at'),
      updated_at: iso(items.updatedAt).as('updated_at'),
    })
    .from(items)
    .where(whereStatus(status))
    .as('t');
}

/** SQL text and parameters for a server-side cursor over every matching item, as JSON lines, by id. */
export function jsonLinesQuery(db: Executor, status: ItemStatus | undefined): { sql: string; params: unknown[] } {
  const t = itemRecords(db, status);
  return db.select({ line }).from(t).orderBy(asc(t.id)).toSQL();
}

/** One keyset batch of JSON lines: the next `limit` items with an id above `after`. */
export function jsonLinesAfter(db: Executor, status: ItemStatus | undefined, after: number, limit: number): Promise<{ id: number; line: string }[]> {
  const t = itemRecords(db, status);
  return db.select({ id: t.id, line }).from(t).where(gt(t.id, after)).orderBy(asc(t.id)).limit(limit);
}
