import { and, eq, gt, isNull, lte, sql } from 'drizzle-orm';
import type { Db } from '../../db/client.ts';
import { apiTokens, sessions, users, type UserRow } from './table.ts';

export async function insertUser(db: Db, input: { username: string; passwordHash: string; isStaff: boolean }): Promise<UserRow> {
  const [row] = await db.insert(users).values(input).returning();
  return row!;
}

export async function findUserByUsername(db: Db, username: string): Promise<UserRow | undefined> {
  const [row] = await db.select().from(users).where(sql`lower(${users.username}) = lower(${username})`).limit(1);
  return row;
}

export async function findUserById(db: Db, id: number): Promise<UserRow | undefined> {
  const [row] = await db.select().from(users).where(eq(users.id, id)).limit(1);
  return row;
}

export async function insertToken(db: Db, input: { userId: number; name: string; tokenHash: string; prefix: string }) {
  const [row] = await db.insert(apiTokens).values(input).returning({ id: apiTokens.id });
  return row!;
}

/** The live token's user, touching last_used_at at most once a minute (keeps hot paths write-free). */
export async function findUserByTokenHash(db: Db, tokenHash: string): Promise<UserRow | undefined> {
  const [row] = await db
    .select({ user: users, tokenId: apiTokens.id, lastUsedAt: apiTokens.lastUsedAt })
    .from(apiTokens)
    .innerJoin(users, eq(users.id, apiTokens.userId))
    .where(and(eq(apiTokens.tokenHash, tokenHash), isNull(apiTokens.revokedAt)))
    .limit(1);
  if (!row) return undefined;
  if (!row.lastUsedAt || Date.now() - row.lastUsedAt.getTime() > 60_000) {
    await db.update(apiTokens).set({ lastUsedAt: new Date() }).where(eq(apiTokens.id, row.tokenId));
  }
  return row.user;
}

export async function revokeToken(db: Db, prefixOrId: string | number): Promise<number> {
  const where = typeof prefixOrId === 'number' ? eq(apiTokens.id, prefixOrId) : eq(apiTokens.prefix, prefixOrId);
  const rows = await db.update(apiTokens).set({ revokedAt: new Date() }).where(and(where, isNull(apiTokens.revokedAt))).returning({ id: apiTokens.id });
  return rows.length;
}

/** After a successful login: stamp last_login_at and, when the hash was upgraded, store the new one. */
export async function recordLogin(db: Db, id: number, newPasswordHash?: string): Promise<UserRow> {
  const [row] = await db
    .update(users)
    .set({ lastLoginAt: new Date(), ...(newPasswordHash ? { passwordHash: newPasswordHash } : {}) })
    .where(eq(users.id, id))
    .returning();
  return row!;
}

export async function insertSession(db: Db, input: { idHash: string; userId: number; expiresAt: Date }): Promise<void> {
  await db.insert(sessions).values(input);
}

export async function findUserBySessionHash(db: Db, idHash: string): Promise<{ user: UserRow; expiresAt: Date } | undefined> {
  const [row] = await db
    .select({ user: users, expiresAt: sessions.expiresAt })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(and(eq(sessions.idHash, idHash), gt(sessions.expiresAt, sql`now()`)))
    .limit(1);
  return row;
}

export async function deleteSession(db: Db, idHash: string): Promise<void> {
  await db.delete(sessions).where(eq(sessions.idHash, idHash));
}

export async function deleteExpiredSessions(db: Db): Promise<number> {
  const rows = await db.delete(sessions).where(lte(sessions.expiresAt, sql`now()`)).returning({ idHash: sessions.idHash });
  return rows.length;
}
