/**
 * All item SQL except the hot, prepared statements (statements.ts), the bulk writes
 * (repository-bulk.ts) and the stream (repository-stream.ts). Each function takes the
 * database handle (or a transaction) first.
 */
import { and, asc, count, desc, eq, getTableColumns, max, min, sql, type SQL } from 'drizzle-orm';
import type { Db } from '../../db/client.ts';
import { items, type ItemRow, type ItemStatus, type NewItemRow } from './table.ts';

/** A transaction handle: every function here accepts one in place of the pool's Db. */
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];
export type Executor = Db | Tx;

export type ItemFields = Pick<NewItemRow, 'description' | 'status' | 'score'>;

export function whereStatus(status: ItemStatus | undefined): SQL | undefined {
  return status === undefined ? undefined : eq(items.status, status);
}

export async function findByName(db: Executor, name: string): Promise<ItemRow | undefined> {
  const [row] = await db.select().from(items).where(eq(items.name, name)).limit(1);
  return row;
}

export async function insert(db: Executor, values: NewItemRow): Promise<ItemRow> {
  const [row] = await db.insert(items).values(values).returning();
  return row!;
}

/** INSERT … ON CONFLICT (name) DO NOTHING: undefined when the name is already taken. */
export async function insertIfAbsent(db: Executor, values: NewItemRow): Promise<ItemRow | undefined> {
  const [row] = await db.insert(items).values(values).onConflictDoNothing({ target: items.name }).returning();
  return row;
}

/**
 * One statement, race-free: insert, or update the row holding this name.
 * `xmax = 0` holds only for a freshly inserted row version, which tells created from updated.
 */
export async function upsertByName(db: Executor, name: string, fields: ItemFields): Promise<{ row: ItemRow; created: boolean }> {
  const { created, ...row } = (
    await db
      .insert(items)
      .values({ ...fields, name })
      .onConflictDoUpdate({ target: items.name, set: { ...fields, updatedAt: sql`now()` } })
      .returning({ ...getTableColumns(items), created: sql<boolean>`(xmax = 0)` })
  )[0]!;
  return { row, created };
}

/** Set the given fields (undefined ones are left alone) and bump updated_at; undefined when no such id. */
export async function updateById(db: Executor, id: number, fields: Partial<Pick<NewItemRow, 'name'> & ItemFields>): Promise<ItemRow | undefined> {
  const [row] = await db
    .update(items)
    .set({ ...fields, updatedAt: sql`now()` })
    .where(eq(items.id, id))
    .returning();
  return row;
}

export async function deleteById(db: Executor, id: number): Promise<boolean> {
  const rows = await db.delete(items).where(eq(items.id, id)).returning({ id: items.id });
  return rows.length > 0;
}

export async function first(db: Executor): Promise<ItemRow | undefined> {
  const [row] = await db.select().from(items).orderBy(asc(items.id)).limit(1);
  return row;
}

export async function last(db: Executor): Promise<ItemRow | undefined> {
  const [row] = await db.select().from(items).orderBy(desc(items.id)).limit(1);
  return row;
}

/** Django's exists(): SELECT 1 … LIMIT 1, which stops at the first match. */
export async function exists(db: Executor, filter: { status?: ItemStatus | undefined; name?: string | undefined }): Promise<boolean> {
  const where = and(whereStatus(filter.status), filter.name === undefined ? undefined : eq(items.name, filter.name));
  const rows = await db.select({ one: sql<number>`1` }).from(items).where(where).limit(1);
  return rows.length > 0;
}

export interface ScoreAggregate {
  count: number;
  avg: number | null;
  min: number | null;
  max: number | null;
  sum: number;
}

export async function aggregateScore(db: Executor, status: ItemStatus | undefined): Promise<ScoreAggregate> {
  const [row] = await db
    .select({
      count: count(),
      // avg/min/max of double precision stay double precision: pg hands back numbers.
      avg: sql<number | null>`avg(${items.score})`,
      min: min(items.score),
      max: max(items.score),
      sum: sql<number>`coalesce(sum(${items.score}), 0)`,
    })
    .from(items)
    .where(whereStatus(status));
  return row!;
}
