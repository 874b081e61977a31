/** Item logic: the contract's defaults, races and lookups, over the items repository. */
import { InvalidItemInput, ItemContended, ItemNotFound } from './errors.ts';
import type { ItemRepository, NewItem } from './repository/index.ts';
import type {
  Aggregate, CreateItem, ExistsQuery, FirstLast, GetOrCreate, Item, ItemOutcome, ItemPage, ListQuery, UpdateItem, UpdateOrCreate,
} from './schemas.ts';
import type { ItemStatus } from './status.ts';
import { itemDefaults } from './table.ts';

/** A request's fields with the contract's defaults filled in (prepared and bulk inserts send every column). */
export function withDefaults(name: string, fields: { description?: string | undefined; status?: ItemStatus | undefined; score?: number | undefined }): NewItem {
  return {
    name,
    description: fields.description ?? itemDefaults.description,
    status: fields.status ?? itemDefaults.status,
    score: fields.score ?? itemDefaults.score,
  };
}

export async function getItem(repo: ItemRepository, id: number): Promise<Item> {
  const item = await repo.get(id);
  if (!item) throw new ItemNotFound(id);
  return item;
}

export async function listItems(repo: ItemRepository, q: ListQuery): Promise<ItemPage> {
  // One row more than asked tells whether another page exists without a count.
  const data = await repo.list({ status: q.status, after: q.after, limit: q.limit + 1 });
  const more = data.length > q.limit;
  if (more) data.length = q.limit;
  return { data, next: more ? data[data.length - 1]!.id : null };
}

export function createItem(repo: ItemRepository, input: CreateItem): Promise<Item> {
  return repo.insert(withDefaults(input.name, input));
}

export async function updateItem(repo: ItemRepository, id: number, patch: UpdateItem): Promise<Item> {
  const item = await repo.update(id, patch);
  if (!item) throw new ItemNotFound(id);
  return item;
}

export async function deleteItem(repo: ItemRepository, id: number): Promise<void> {
  if (!(await repo.delete(id))) throw new ItemNotFound(id);
}

export async function firstAndLast(repo: ItemRepository): Promise<FirstLast> {
  const [first, last] = await Promise.all([repo.first(), repo.last()]);
  return { first: first ?? null, last: last ?? null };
}

export async function itemExists(repo: ItemRepository, q: ExistsQuery): Promise<{ exists: boolean }> {
  return { exists: await repo.exists(q) };
}

export async function countItems(repo: ItemRepository, status: ItemStatus | undefined): Promise<{ count: number }> {
  return { count: await repo.count(status) };
}

export function aggregateScores(repo: ItemRepository, status: ItemStatus | undefined): Promise<Aggregate> {
  return repo.aggregateScore(status);
}

/**
 * Get or create without a race: the INSERT … ON CONFLICT DO NOTHING decides who creates;
 * the losers read the winner's row. A row deleted between the two statements is retried.
 */
export async function getOrCreate(repo: ItemRepository, input: GetOrCreate): Promise<ItemOutcome> {
  const values = withDefaults(input.name, input.defaults ?? {});
  for (let attempt = 0; attempt < 3; attempt++) {
    const created = await repo.insertIfAbsent(values);
    if (created) return { item: created, created: true };
    const found = await repo.findByName(input.name);
    if (found) return { item: found, created: false };
  }
  throw new ItemContended(input.name);
}

/**
 * Update or create. By name: one upsert statement. By id: the defaults are applied to that
 * item (its name is left alone); when there is none, a new item is created from `name` and
 * the defaults, with a fresh id — ids are the database's to hand out.
 */
export async function updateOrCreate(repo: ItemRepository, input: UpdateOrCreate): Promise<ItemOutcome> {
  const { id, name, defaults } = input;
  if (id === undefined) {
    if (name === undefined) throw new InvalidItemInput('Give an id or a name to look the item up by', [{ field: 'name', message: 'is required when id is absent' }]);
    return repo.upsertByName(name, defaults);
  }
  const updated = await repo.update(id, defaults);
  if (updated) return { item: updated, created: false };
  if (name === undefined) {
    throw new InvalidItemInput(`No item ${id}, and no name to create one with`, [{ field: 'name', message: 'is required to create an item when no item has this id' }]);
  }
  return { item: await repo.insert(withDefaults(name, defaults)), created: true };
}
