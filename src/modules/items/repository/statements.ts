/**
 * How item statements run. Drizzle's builder writes the SQL; pg runs it directly and hands
 * back every column as PostgreSQL's text (rows.ts). Per call that skips Drizzle's query path
 * (several async layers, a decoder per column, a Date per timestamp): about 10 µs of CPU on a
 * primary-key lookup, a tenth of the request. The hot reads and the single insert are named,
 * so each connection parses and plans them once.
 */
import { and, asc, count, eq, fillPlaceholders, gt, sql } from 'drizzle-orm';
import type pg from 'pg';
import type { Database, Db } from '../../../db/client.ts';
import type { ItemStatus } from '../status.ts';
import { items, type NewItemRow } from '../table.ts';
import { asText, textColumns, type TextRow } from './rows.ts';

/** A transaction handle: every builder function accepts one in place of the pool's Db. */
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];
export type Executor = Db | Tx;

export type ItemFields = Pick<NewItemRow, 'description' | 'status' | 'score'>;

export interface ListFilter {
  status?: ItemStatus | undefined;
  /** Only ids greater than this (the keyset cursor). */
  after?: number | undefined;
  limit: number;
}

// A type, not an interface: it must fit the statements' Record<string, unknown> of values.
export type NewItem = {
  name: string;
  description: string;
  status: ItemStatus;
  score: number;
};

export interface HotStatements {
  findById(id: number): Promise<TextRow | undefined>;
  insert(values: NewItem): Promise<TextRow>;
  list(filter: ListFilter): Promise<TextRow[]>;
  count(status?: ItemStatus): Promise<number>;
}

export type Built = { toSQL(): { sql: string; params: unknown[] } };

/** Run a one-off statement (unnamed: its SQL varies with its input) with text rows. */
export async function runText<R extends unknown[] = TextRow>(pool: pg.Pool, query: Built): Promise<R[]> {
  const { sql: text, params } = query.toSQL();
  return (await pool.query<R>({ text, values: params, rowMode: 'array', types: asText })).rows;
}

export function prepareHotStatements(database: Pick<Database, 'db' | 'pool'>): HotStatements {
  const { db, pool } = database;
  /** Runs `query` with its placeholders filled from `values`. */
  const statement = <R extends unknown[] = TextRow>(name: string, query: Built) => {
    const { sql: text, params } = query.toSQL();
    const config = { name: `items_${name}`, text, rowMode: 'array' as const, types: asText };
    return async (values: Record<string, unknown> = {}): Promise<R[]> => (await pool.query<R>(config, fillPlaceholders(params, values))).rows;
  };
  const p = { id: sql.placeholder('id'), status: sql.placeholder('status'), after: sql.placeholder('after'), limit: sql.placeholder('limit') };

  const byId = statement('by_id', db.select(textColumns).from(items).where(eq(items.id, p.id)).limit(1));
  const insert = statement(
    'insert',
    db
      .insert(items)
      .values({ name: sql.placeholder('name'), description: sql.placeholder('description'), status: sql.placeholder('status'), score: sql.placeholder('score') })
      .returning(textColumns),
  );

  // One statement per filter combination keeps each plan simple (no `$1 IS NULL OR …`).
  const page = (where: ReturnType<typeof and>, n: string) => statement(n, db.select(textColumns).from(items).where(where).orderBy(asc(items.id)).limit(p.limit));
  const lists = {
    all: page(undefined, 'list'),
    status: page(eq(items.status, p.status), 'list_status'),
    after: page(gt(items.id, p.after), 'list_after'),
    statusAfter: page(and(eq(items.status, p.status), gt(items.id, p.after)), 'list_status_after'),
  };
  const counts = {
    all: statement<[string]>('count', db.select({ count: count() }).from(items)),
    status: statement<[string]>('count_status', db.select({ count: count() }).from(items).where(eq(items.status, p.status))),
  };

  return {
    async findById(id) {
      return (await byId({ id }))[0];
    },
    async insert(values) {
      return (await insert(values))[0]!;
    },
    list({ status, after, limit }) {
      if (status === undefined) return after === undefined ? lists.all({ limit }) : lists.after({ after, limit });
      return after === undefined ? lists.status({ status, limit }) : lists.statusAfter({ status, after, limit });
    },
    async count(status) {
      const rows = status === undefined ? await counts.all() : await counts.status({ status });
      return Number(rows[0]![0]);
    },
  };
}
