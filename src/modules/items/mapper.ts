import type { Item } from './schemas.ts';
import type { NewItem } from './statements.ts';
import { itemDefaults, type ItemRow, type ItemStatus } from './table.ts';

export function toItem(row: ItemRow): Item {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    status: row.status,
    score: row.score,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}

/** A request's fields with the contract's defaults filled in (prepared and bulk inserts send every column). */
export function withDefaults(name: string, fields: { description?: string | undefined; status?: ItemStatus | undefined; score?: number | undefined }): NewItem {
  return {
    name,
    description: fields.description ?? itemDefaults.description,
    status: fields.status ?? itemDefaults.status,
    score: fields.score ?? itemDefaults.score,
  };
}
