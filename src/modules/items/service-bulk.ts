/** abulk_create and abulk_update: all-or-nothing, each one statement or one transaction. */
import { AppError } from '../../app/errors.ts';
import { withDefaults } from './mapper.ts';
import { insertMany, updateMany } from './repository-bulk.ts';
import type { BulkCreate, BulkCreated, BulkUpdate, BulkUpdated } from './schemas-bulk.ts';
import { rethrowDbError, type ItemStore } from './service.ts';

function duplicateNames(names: readonly string[]): string[] {
  const seen = new Set<string>();
  const dups = new Set<string>();
  for (const n of names) (seen.has(n) ? dups : seen).add(n);
  return [...dups];
}

export async function bulkCreate(s: ItemStore, entries: BulkCreate): Promise<BulkCreated> {
  // The unique index would refuse these too; checking first names every culprit, not only the first.
  const dups = duplicateNames(entries.map((e) => e.name));
  if (dups.length > 0) {
    throw new AppError('conflict', `${dups.length} name(s) appear more than once in the request`, { details: dups.slice(0, 100).map((name) => ({ name })) });
  }
  try {
    const ids = await insertMany(s.db, entries.map((e) => withDefaults(e.name, e)));
    return { created: ids.length, ids };
  } catch (err) {
    rethrowDbError(err);
  }
}

/** Every listed item is updated, or none is: a missing id answers 404 and rolls back. */
export async function bulkUpdate(s: ItemStore, body: BulkUpdate): Promise<BulkUpdated> {
  const { set = {}, append_description: append } = body;
  if (set.status === undefined && set.score === undefined && set.description === undefined && append === undefined) {
    throw new AppError('invalid_request', 'Nothing to update: give set, append_description or both', {
      details: [
        { field: 'body.set', message: 'must name at least one field when append_description is absent' },
        { field: 'body.append_description', message: 'is required when set names no field' },
      ],
    });
  }
  const ids = [...new Set(body.ids)];
  try {
    return await s.db.transaction(async (tx) => {
      const updated = await updateMany(tx, ids, { ...set, append });
      if (updated.length !== ids.length) {
        const hit = new Set(updated);
        const missing = ids.filter((id) => !hit.has(id));
        throw new AppError('not_found', `${missing.length} of the ids match no item; nothing was updated`, { details: { missing: missing.slice(0, 100) } });
      }
      return { updated: updated.length };
    });
  } catch (err) {
    if (err instanceof AppError) throw err;
    rethrowDbError(err);
  }
}
