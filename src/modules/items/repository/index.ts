/**
 * The items repository: every item statement, behind one object. Whatever runs underneath
 * — named hot statements, one-off statements, bulk `unnest` inserts, a server-side cursor —
 * items come back as the API's Item through the one mapping in rows.ts, and a refused write
 * comes back as the items' own error (NameTaken, DescriptionTooLong). Nothing outside this
 * folder touches its files (the lint's `items-repository-is-one` rule).
 */
import { and, asc, count, desc, eq, max, min, sql } from 'drizzle-orm';
import type { Database } from '../../../db/client.ts';
import { checkViolation, uniqueViolation } from '../../../db/errors.ts';
import { DescriptionTooLong, ItemsNotFound, NameTaken } from '../errors.ts';
import type { Item } from '../schemas.ts';
import type { ItemStatus } from '../status.ts';
import { items } from '../table.ts';
import { insertMany, updateMany, type BulkSet } from './bulk.ts';
import { cursorSource, type ChunkSource } from './cursor.ts';
import { whereStatus } from './queries.ts';
import { fromTextRow, textColumns, type TextRow } from './rows.ts';
import { prepareHotStatements, runText, type ItemFields, type ListFilter, type NewItem } from './statements.ts';

export type { BulkSet, ChunkSource, ItemFields, ListFilter, NewItem };
export { STREAM_BATCH } from './cursor.ts';

export interface ScoreAggregate {
  count: number;
  avg: number | null;
  min: number | null;
  max: number | null;
  sum: number;
}

export interface ItemRepository {
  get(id: number): Promise<Item | undefined>;
  /** A page by id, after the keyset cursor. */
  list(filter: ListFilter): Promise<Item[]>;
  count(status?: ItemStatus): Promise<number>;
  /** @throws NameTaken */
  insert(values: NewItem): Promise<Item>;
  /** INSERT … ON CONFLICT (name) DO NOTHING: undefined when the name is already taken. */
  insertIfAbsent(values: NewItem): Promise<Item | undefined>;
  findByName(name: string): Promise<Item | undefined>;
  /** One statement, race-free: insert, or update the item holding this name. */
  upsertByName(name: string, fields: ItemFields): Promise<{ item: Item; created: boolean }>;
  /** Set the given fields (undefined ones are left alone) and bump updated_at; undefined when no such id. @throws NameTaken */
  update(id: number, fields: Partial<Pick<NewItem, 'name'> & ItemFields>): Promise<Item | undefined>;
  delete(id: number): Promise<boolean>;
  first(): Promise<Item | undefined>;
  last(): Promise<Item | undefined>;
  /** Whether any item matches: SELECT 1 … LIMIT 1, which stops at the first match. */
  exists(filter: { status?: ItemStatus | undefined; name?: string | undefined }): Promise<boolean>;
  aggregateScore(status: ItemStatus | undefined): Promise<ScoreAggregate>;
  /** Every row in one statement (all or nothing); the new ids in the order of `rows`. @throws NameTaken, DescriptionTooLong */
  insertMany(rows: readonly NewItem[]): Promise<number[]>;
  /** Every listed item in one transaction, or none. @throws ItemsNotFound, DescriptionTooLong */
  updateAll(ids: readonly number[], set: BulkSet): Promise<number>;
  /** Every matching item by id as NDJSON batches, from one snapshot. */
  openStream(status: ItemStatus | undefined): Promise<ChunkSource>;
}

/** A refused write in the items' terms; anything else goes on as it is. */
function refusal(err: unknown, name?: string): unknown {
  if (uniqueViolation(err)) return new NameTaken(name, { cause: err });
  if (checkViolation(err)) return new DescriptionTooLong({ cause: err });
  return err;
}

const first = (rows: TextRow[]) => (rows[0] ? fromTextRow(rows[0]) : undefined);

export function createItemRepository(database: Database): ItemRepository {
  const { db, pool } = database;
  const hot = prepareHotStatements(database);
  const one = async (query: Parameters<typeof runText>[1]) => first(await runText(pool, query));

  return {
    get: async (id) => {
      const row = await hot.findById(id);
      return row ? fromTextRow(row) : undefined;
    },
    list: async (filter) => (await hot.list(filter)).map(fromTextRow),
    count: (status) => hot.count(status),
    async insert(values) {
      try {
        return fromTextRow(await hot.insert(values));
      } catch (err) {
        throw refusal(err, values.name);
      }
    },
    insertIfAbsent: (values) => one(db.insert(items).values(values).onConflictDoNothing({ target: items.name }).returning(textColumns)),
    findByName: (name) => one(db.select(textColumns).from(items).where(eq(items.name, name)).limit(1)),
    async upsertByName(name, fields) {
      // `xmax = 0` holds only for a freshly inserted row version, which tells created from updated.
      const [row] = await runText<[...TextRow, string]>(
        pool,
        db
          .insert(items)
          .values({ ...fields, name })
          .onConflictDoUpdate({ target: items.name, set: { ...fields, updatedAt: sql`now()` } })
          .returning({ ...textColumns, created: sql<boolean>`(xmax = 0)` }),
      );
      return { item: fromTextRow(row!.slice(0, 7) as TextRow), created: row![7] === 't' };
    },
    async update(id, fields) {
      try {
        return await one(db.update(items).set({ ...fields, updatedAt: sql`now()` }).where(eq(items.id, id)).returning(textColumns));
      } catch (err) {
        throw refusal(err, fields.name);
      }
    },
    async delete(id) {
      const rows = await db.delete(items).where(eq(items.id, id)).returning({ id: items.id });
      return rows.length > 0;
    },
    first: () => one(db.select(textColumns).from(items).orderBy(asc(items.id)).limit(1)),
    last: () => one(db.select(textColumns).from(items).orderBy(desc(items.id)).limit(1)),
    async exists(filter) {
      const where = and(whereStatus(filter.status), filter.name === undefined ? undefined : eq(items.name, filter.name));
      const rows = await db.select({ one: sql<number>`1` }).from(items).where(where).limit(1);
      return rows.length > 0;
    },
    async aggregateScore(status) {
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
    },
    async insertMany(rows) {
      try {
        return await insertMany(db, rows);
      } catch (err) {
        throw refusal(err);
      }
    },
    async updateAll(ids, set) {
      try {
        return await db.transaction(async (tx) => {
          const updated = await updateMany(tx, ids, set);
          if (updated.length !== ids.length) {
            const hit = new Set(updated);
            throw new ItemsNotFound(ids.filter((id) => !hit.has(id)));
          }
          return updated.length;
        });
      } catch (err) {
        throw refusal(err);
      }
    },
    openStream: (status) => cursorSource(database, status),
  };
}
