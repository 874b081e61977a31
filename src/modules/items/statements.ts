/**
 * The hot reads and the single insert as prepared statements: the SQL text is built once
 * (Drizzle's builder costs more per call than the query itself on a primary-key lookup),
 * and on PostgreSQL they are named so each connection parses and plans them only once.
 *
 * Not named on embedded PGlite: pglite-socket multiplexes every connection onto one
 * backend session, so a second connection preparing the same name would fail with
 * "prepared statement already exists".
 */
import { and, asc, count, eq, gt, sql } from 'drizzle-orm';
import type { Db } from '../../db/client.ts';
import { items, type ItemRow, type ItemStatus } from './table.ts';

export interface ListFilter {
  status?: ItemStatus | undefined;
  /** Only ids greater than this (the keyset cursor). */
  after?: number | undefined;
  limit: number;
}

// A type, not an interface: Drizzle's execute() wants an index-signature-compatible record.
export type NewItem = {
  name: string;
  description: string;
  status: ItemStatus;
  score: number;
};

export interface HotStatements {
  findById(id: number): Promise<ItemRow | undefined>;
  insert(values: NewItem): Promise<ItemRow>;
  list(filter: ListFilter): Promise<ItemRow[]>;
  count(status?: ItemStatus): Promise<number>;
}

export function prepareHotStatements(db: Db, opts: { named: boolean }): HotStatements {
  const name = (n: string) => (opts.named ? `items_${n}` : '');
  const p = { id: sql.placeholder('id'), status: sql.placeholder('status'), after: sql.placeholder('after'), limit: sql.placeholder('limit') };

  const byId = db.select().from(items).where(eq(items.id, p.id)).limit(1).prepare(name('by_id'));
  const insert = db
    .insert(items)
    .values({ name: sql.placeholder('name'), description: sql.placeholder('description'), status: sql.placeholder('status'), score: sql.placeholder('score') })
    .returning()
    .prepare(name('insert'));

  // One statement per filter combination keeps each plan simple (no `$1 IS NULL OR …`).
  const page = (where: ReturnType<typeof and>, n: string) =>
    db.select().from(items).where(where).orderBy(asc(items.id)).limit(p.limit).prepare(name(n));
  const lists = {
    all: page(undefined, 'list'),
    status: page(eq(items.status, p.status), 'list_status'),
    after: page(gt(items.id, p.after), 'list_after'),
    statusAfter: page(and(eq(items.status, p.status), gt(items.id, p.after)), 'list_status_after'),
  };
  const counts = {
    all: db.select({ count: count() }).from(items).prepare(name('count')),
    status: db.select({ count: count() }).from(items).where(eq(items.status, p.status)).prepare(name('count_status')),
  };

  return {
    async findById(id) {
      return (await byId.execute({ id }))[0];
    },
    async insert(values) {
      return (await insert.execute(values))[0]!;
    },
    list({ status, after, limit }) {
      if (status === undefined) return after === undefined ? lists.all.execute({ limit }) : lists.after.execute({ after, limit });
      return after === undefined ? lists.status.execute({ status, limit }) : lists.statusAfter.execute({ status, after, limit });
    },
    async count(status) {
      const rows = status === undefined ? await counts.all.execute() : await counts.status.execute({ status });
      return rows[0]!.count;
    },
  };
}
