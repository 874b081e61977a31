/** Item logic: turns repository results and database errors into API outcomes. */
import { AppError } from '../../app/errors.ts';
import type { Database, Db } from '../../db/client.ts';
import { fromTextRow, toItem, withDefaults } from './mapper.ts';
import * as repo from './repository.ts';
import type {
  Aggregate, CreateItem, ExistsQuery, FirstLast, GetOrCreate, Item, ItemOutcome, ItemPage, ListQuery, UpdateItem, UpdateOrCreate,
} from './schemas.ts';
import { prepareHotStatements, type HotStatements } from './statements.ts';
import type { ItemStatus } from './table.ts';

/** What the item operations run against: the pool's handle and its prepared hot statements. */
export interface ItemStore {
  readonly db: Db;
  readonly hot: HotStatements;
}

export function createItemStore(database: Database): ItemStore {
  return { db: database.db, hot: prepareHotStatements(database) };
}

const pgCode = (err: unknown): string | undefined =>
  (err as { code?: string }).code ?? (err as { cause?: { code?: string } }).cause?.code;

/** A unique-name violation becomes 409 `conflict`; anything else propagates. */
export function rethrowConflict(err: unknown, name?: string): never {
  if (pgCode(err) === '23505') throw new AppError('conflict', name ? `An item named ${JSON.stringify(name)} already exists` : 'An item with that name already exists');
  throw err;
}

/** Also maps a check violation (e.g. an appended description over 10,000 characters) to 400. */
export function rethrowDbError(err: unknown, name?: string): never {
  if (pgCode(err) === '23514') {
    throw new AppError('invalid_request', 'The change would break a constraint (description is at most 10,000 characters)', {
      details: [{ field: 'description', message: 'must NOT have more than 10000 characters' }],
    });
  }
  rethrowConflict(err, name);
}

export async function getItem(s: ItemStore, id: number): Promise<Item> {
  const row = await s.hot.findById(id);
  if (!row) throw new AppError('not_found', `No item ${id}`);
  return fromTextRow(row);
}

export async function listItems(s: ItemStore, q: ListQuery): Promise<ItemPage> {
  // One row more than asked tells whether another page exists without a count.
  const rows = await s.hot.list({ status: q.status, after: q.after, limit: q.limit + 1 });
  const more = rows.length > q.limit;
  if (more) rows.length = q.limit;
  const data = rows.map(fromTextRow);
  return { data, next: more ? data[data.length - 1]!.id : null };
}

export async function createItem(s: ItemStore, input: CreateItem): Promise<Item> {
  try {
    return fromTextRow(await s.hot.insert(withDefaults(input.name, input)));
  } catch (err) {
    rethrowConflict(err, input.name);
  }
}

export async function updateItem(s: ItemStore, id: number, patch: UpdateItem): Promise<Item> {
  let row;
  try {
    row = await repo.updateById(s.db, id, patch);
  } catch (err) {
    rethrowConflict(err, patch.name);
  }
  if (!row) throw new AppError('not_found', `No item ${id}`);
  return toItem(row);
}

export async function deleteItem(s: ItemStore, id: number): Promise<void> {
  if (!(await repo.deleteById(s.db, id))) throw new AppError('not_found', `No item ${id}`);
}

export async function firstAndLast(s: ItemStore): Promise<FirstLast> {
  const [first, last] = await Promise.all([repo.first(s.db), repo.last(s.db)]);
  return { first: first ? toItem(first) : null, last: last ? toItem(last) : null };
}

export async function itemExists(s: ItemStore, q: ExistsQuery): Promise<{ exists: boolean }> {
  return { exists: await repo.exists(s.db, q) };
}

export async function countItems(s: ItemStore, status: ItemStatus | undefined): Promise<{ count: number }> {
  return { count: await s.hot.count(status) };
}

export function aggregateScores(s: ItemStore, status: ItemStatus | undefined): Promise<Aggregate> {
  return repo.aggregateScore(s.db, status);
}

/**
 * aget_or_create without a race: the INSERT … ON CONFLICT DO NOTHING decides who creates;
 * the losers read the winner's row. A row deleted between the two statements is retried.
 */
export async function getOrCreate(s: ItemStore, input: GetOrCreate): Promise<ItemOutcome> {
  const values = withDefaults(input.name, input.defaults ?? {});
  for (let attempt = 0; attempt < 3; attempt++) {
    const created = await repo.insertIfAbsent(s.db, values);
    if (created) return { item: toItem(created), created: true };
    const found = await repo.findByName(s.db, input.name);
    if (found) return { item: toItem(found), created: false };
  }
  throw new AppError('conflict', `The item named ${JSON.stringify(input.name)} kept changing; retry`);
}

/**
 * aupdate_or_create. By name: one upsert statement. By id: the defaults are applied to that
 * item (its name is left alone); when there is none, a new item is created from `name` and
 * the defaults, with a fresh id — ids are the database's to hand out.
 */
export async function updateOrCreate(s: ItemStore, input: UpdateOrCreate): Promise<ItemOutcome> {
  const { id, name, defaults } = input;
  if (id === undefined) {
    if (name === undefined) {
      throw new AppError('invalid_request', 'Give an id or a name to look the item up by', { details: [{ field: 'body.name', message: 'is required when id is absent' }] });
    }
    const { row, created } = await repo.upsertByName(s.db, name, defaults);
    return { item: toItem(row), created };
  }
  const updated = await repo.updateById(s.db, id, defaults);
  if (updated) return { item: toItem(updated), created: false };
  if (name === undefined) {
    throw new AppError('invalid_request', `No item ${id}, and no name to create one with`, { details: [{ field: 'body.name', message: 'is required to create an item when no item has this id' }] });
  }
  try {
    return { item: fromTextRow(await s.hot.insert(withDefaults(name, defaults))), created: true };
  } catch (err) {
    rethrowConflict(err, name);
  }
}
