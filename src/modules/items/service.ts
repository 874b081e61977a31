/** Item logic: turns repository results and database errors into API outcomes. */
import { AppError } from '../../app/errors.ts';
import type { Db } from '../../db/client.ts';
import { toItem } from './mapper.ts';
import * as repo from './repository.ts';
import type { CreateItem, Item } from './schemas.ts';

/** A unique-name violation becomes 409 `conflict`; anything else propagates. */
export function rethrowConflict(err: unknown, name?: string): never {
  const code = (err as { code?: string; cause?: { code?: string } }).code ?? (err as { cause?: { code?: string } }).cause?.code;
  if (code === '23505') throw new AppError('conflict', name ? `An item named ${JSON.stringify(name)} already exists` : 'An item with that name already exists');
  throw err;
}

export async function getItem(db: Db, id: number): Promise<Item> {
  const row = await repo.findById(db, id);
  if (!row) throw new AppError('not_found', `No item ${id}`);
  return toItem(row);
}

export async function createItem(db: Db, input: CreateItem): Promise<Item> {
  try {
    return toItem(await repo.insert(db, input));
  } catch (err) {
    rethrowConflict(err, input.name);
  }
}
