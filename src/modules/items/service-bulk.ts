/** Bulk create and bulk update: all-or-nothing, each one statement or one transaction. */
import { DuplicateNames, InvalidItemInput } from './errors.ts';
import type { ItemRepository } from './repository/index.ts';
import type { BulkCreate, BulkCreated, BulkUpdate, BulkUpdated } from './schemas-bulk.ts';
import { withDefaults } from './service.ts';

function duplicateNames(names: readonly string[]): string[] {
  const seen = new Set<string>();
  const dups = new Set<string>();
  for (const n of names) (seen.has(n) ? dups : seen).add(n);
  return [...dups];
}

export async function bulkCreate(repo: ItemRepository, entries: BulkCreate): Promise<BulkCreated> {
  // The unique index would refuse these too; checking first names every culprit, not only the first.
  const dups = duplicateNames(entries.map((e) => e.name));
  if (dups.length > 0) throw new DuplicateNames(dups);
  const ids = await repo.insertMany(entries.map((e) => withDefaults(e.name, e)));
  return { created: ids.length, ids };
}

/** Every listed item is updated, or none is: a missing id answers ItemsNotFound and rolls back. */
export async function bulkUpdate(repo: ItemRepository, body: BulkUpdate): Promise<BulkUpdated> {
  const { set = {}, append_description: append } = body;
  if (set.status === undefined && set.score === undefined && set.description === undefined && append === undefined) {
    throw new InvalidItemInput('Nothing to update: give set, append_description or both', [
      { field: 'set', message: 'must name at least one field when append_description is absent' },
      { field: 'append_description', message: 'is required when set names no field' },
    ]);
  }
  return { updated: await repo.updateAll([...new Set(body.ids)], { ...set, append }) };
}
