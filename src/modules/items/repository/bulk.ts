/** Bulk item SQL: many rows in one statement, so each call is atomic on its own. */
import { sql } from 'drizzle-orm';
import { items } from '../table.ts';
import type { Executor, ItemFields, NewItem } from './statements.ts';

/**
 * Insert every row with one `INSERT … SELECT FROM unnest(…)`: four array parameters
 * however many rows (a VALUES list would need four parameters per row, capped at 65,535),
 * and one short statement to parse. Returns the new ids in the order of `rows`.
 */
export async function insertMany(db: Executor, rows: readonly NewItem[]): Promise<number[]> {
  const n = rows.length;
  const names = new Array<string>(n);
  const descriptions = new Array<string>(n);
  const statuses = new Array<string>(n);
  const scores = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const r = rows[i]!;
    names[i] = r.name;
    descriptions[i] = r.description;
    statuses[i] = r.status;
    scores[i] = r.score;
  }
  const col = (c: { name: string }) => sql.identifier(c.name);
  const result = await db.execute<{ id: number }>(sql`
    insert into ${items} (${col(items.name)}, ${col(items.description)}, ${col(items.status)}, ${col(items.score)})
    select * from unnest(${sql.param(names)}::text[], ${sql.param(descriptions)}::text[], ${sql.param(statuses)}::text[], ${sql.param(scores)}::float8[])
    returning ${col(items.id)}`);
  // unnest yields rows in array order and the identity hands out increasing ids in
  // insertion order, so sorting the ids restores the request's order.
  return result.rows.map((r) => r.id).sort((a, b) => a - b);
}

export interface BulkSet extends ItemFields {
  /** Appended to the (new) description in SQL: `description = description || $append`. */
  append?: string | undefined;
}

/** Update the rows with these ids; returns the ids actually updated. */
export async function updateMany(db: Executor, ids: readonly number[], set: BulkSet): Promise<number[]> {
  const { append, ...fields } = set;
  const description = append === undefined ? fields.description : sql`${fields.description ?? items.description} || ${append}`;
  const rows = await db
    .update(items)
    .set({ ...fields, description, updatedAt: sql`now()` })
    .where(sql`${items.id} = any(${sql.param(ids)}::bigint[])`)
    .returning({ id: items.id });
  return rows.map((r) => r.id);
}
