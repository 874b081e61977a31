/**
 * Items as PostgreSQL's text: the columns a hot statement or the stream selects, and the
 * row type pg hands back with every parser turned off. Turning that text into the API's
 * JSON directly (mapper.ts) skips a Date per timestamp and Drizzle's per-column decoders,
 * and the `at time zone 'UTC'` spelling prints both timestamps as UTC whatever the
 * session's TimeZone.
 */
import { sql, type AnyColumn } from 'drizzle-orm';
import { items } from './table.ts';

/** id, name, description, status, score, created_at, updated_at — as PostgreSQL's text. */
export type TextRow = [string, string, string, string, string, string, string];

const same = (value: string) => value;
/** pg's `types` option that leaves every column as the text PostgreSQL sent (asked once per column per query). */
export const asText = { getTypeParser: () => same };

const utc = (c: AnyColumn) => sql<string>`${c} at time zone 'UTC'`;

/** The selection giving a `TextRow`, in its order. */
export const textColumns = {
  id: items.id, name: items.name, description: items.description, status: items.status, score: items.score,
  created_at: utc(items.createdAt), updated_at: utc(items.updatedAt),
};
