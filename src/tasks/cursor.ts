/** Opaque list cursors: the creation time and id of the last task of a page. */
import type { TaskRecord } from './types.ts';

export function encodeCursor(t: Pick<TaskRecord, 'createdAt' | 'id'>): string {
  return Buffer.from(`${t.createdAt.getTime()}_${t.id}`).toString('base64url');
}

/** undefined for a cursor that is not ours. */
export function decodeCursor(cursor: string): { at: number; id: string } | undefined {
  const raw = Buffer.from(cursor, 'base64url').toString('utf8');
  const sep = raw.indexOf('_');
  const at = Number(raw.slice(0, sep));
  if (sep < 1 || !Number.isFinite(at)) return undefined;
  return { at, id: raw.slice(sep + 1) };
}
