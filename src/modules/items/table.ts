import { sql } from 'drizzle-orm';
import { bigint, check, doublePrecision, index, text, timestamp, varchar } from 'drizzle-orm/pg-core';
import { app } from '../../db/pg-schema.ts';
import { itemStatuses, type ItemStatus } from './status.ts';

export type { ItemStatus };

/** The contract's defaults; the column defaults below and every insert path use these. */
export const itemDefaults = { description: '', status: 'active', score: 0 } as const satisfies Record<string, unknown>;

const statusList = sql.raw(itemStatuses.map((s) => `'${s}'`).join(', '));

export const items = app.table(
  'items',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedByDefaultAsIdentity(),
    name: varchar('name', { length: 200 }).notNull().unique('items_name_key'),
    description: text('description').notNull().default(itemDefaults.description),
    status: text('status', { enum: itemStatuses }).notNull().default(itemDefaults.status),
    score: doublePrecision('score').notNull().default(itemDefaults.score),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index('items_status_id_idx').on(t.status, t.id),
    check('items_status_check', sql`${t.status} in (${statusList})`),
    check('items_description_length', sql`char_length(${t.description}) <= 10000`),
  ],
);

export type NewItemRow = typeof items.$inferInsert;
