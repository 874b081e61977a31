/**
 * Server-side sessions: a random id in an HttpOnly cookie, its SHA-256 in the database.
 * Every login mints a new id (no fixation), logout deletes the row, expired rows are purged
 * at login and on a timer. The database is the truth; each app remembers a verified session
 * for SESSION_CACHE_MS at most (user-cache.ts), and forgets one it ends at once.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Db } from '../../db/client.ts';
import * as repo from './repository.ts';
import type { UserRow } from './table.ts';

export const SESSION_COOKIE = 'conveyor_session';
const SESSION_ID = /^[A-Za-z0-9_-]{43}$/; // 32 random bytes, base64url

const hashId = (id: string) => createHash('sha256').update(id).digest('hex');

/** Open a session for a user, ending the one the client came with (if any). */
export async function startSession(db: Db, userId: number, maxAgeSeconds: number, previousId?: string): Promise<{ id: string; expiresAt: Date }> {
  if (previousId) await endSession(db, previousId);
  await repo.deleteExpiredSessions(db);
  const id = randomBytes(32).toString('base64url');
  const expiresAt = new Date(Date.now() + maxAgeSeconds * 1000);
  await repo.insertSession(db, { idHash: hashId(id), userId, expiresAt });
  return { id, expiresAt };
}

/** The user of a live session and when it expires, or undefined for an unknown, expired or malformed id. */
export async function sessionUser(db: Db, id: string): Promise<{ user: UserRow; expiresAt: Date } | undefined> {
  if (!SESSION_ID.test(id)) return undefined;
  return repo.findUserBySessionHash(db, hashId(id));
}

export async function endSession(db: Db, id: string): Promise<void> {
  if (SESSION_ID.test(id)) await repo.deleteSession(db, hashId(id));
}

export const purgeExpiredSessions = (db: Db): Promise<number> => repo.deleteExpiredSessions(db);
