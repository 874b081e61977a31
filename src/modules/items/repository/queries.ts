/** Pieces of SQL more than one statement shares. */
import { eq, type SQL } from 'drizzle-orm';
import type { ItemStatus } from '../status.ts';
import { items } from '../table.ts';

export function whereStatus(status: ItemStatus | undefined): SQL | undefined {
  return status === undefined ? undefined : eq(items.status, status);
}
