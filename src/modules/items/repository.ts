/** All item SQL. Each function takes the database handle (or a transaction) first. */
import { eq } from 'drizzle-orm';
import type { Db } from '../../db/client.ts';
import { items, type ItemRow, type NewItemRow } from './table.ts';

export async function findById(db: Db, id: number): Promise<ItemRow | undefined> {
  const [row] = await db.select().from(items).where(eq(items.id, id)).limit(1);
  return row;
}

export async function insert(db: Db, values: NewItemRow): Promise<ItemRow> {
  const [row] = await db.insert(items).values(values).returning();
  return row!;
}
