/** Users and API tokens: the logic behind the CLI verbs and the authentication middleware. */
import { createHash, randomBytes } from 'node:crypto';
import type { Db } from '../../db/client.ts';
import { uniqueViolation } from '../../db/errors.ts';
import { AccountError, UsernameTaken } from './errors.ts';
import { dummyHash, hashPassword, needsRehash, verifyPassword } from './passwords.ts';
import * as repo from './repository.ts';
import type { UserCache } from './user-cache.ts';
import type { AuthenticatedUser } from './user.ts';
import type { UserRow } from './table.ts';

export const TOKEN_PREFIX = 'cvt_';

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export function toAuthenticated(row: UserRow, via: AuthenticatedUser['via']): AuthenticatedUser {
  return { id: row.id, username: row.username, isStaff: row.isStaff, via };
}

export async function createUser(db: Db, input: { username: string; password: string; isStaff?: boolean }): Promise<UserRow> {
  if (!/^[\w.@+-]{1,150}$/.test(input.username)) {
    throw new AccountError('username must be 1..150 characters of letters, digits and @.+-_');
  }
  if (input.password.length < 8) throw new AccountError('password must be at least 8 characters');
  const passwordHash = await hashPassword(input.password);
  try {
    return await repo.insertUser(db, { username: input.username, passwordHash, isStaff: input.isStaff ?? false });
  } catch (err) {
    throw uniqueViolation(err) ? new UsernameTaken() : err;
  }
}

/** Create an API token for a user; the returned token is the only copy (only its hash is stored). */
export async function createToken(db: Db, username: string, name = ''): Promise<{ token: string; id: number }> {
  const user = await repo.findUserByUsername(db, username);
  if (!user) throw new AccountError(`no user named ${JSON.stringify(username)}`);
  const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
  const { id } = await repo.insertToken(db, { userId: user.id, name, tokenHash: hashToken(token), prefix: token.slice(0, 12) });
  return { token, id };
}

/**
 * The user behind an `Authorization: Bearer <token>` header when that token is in the cache,
 * else undefined (the caller then takes the full path, `authenticateToken`).
 */
export function cachedTokenUser(header: string | undefined, cache: UserCache): AuthenticatedUser | undefined {
  if (header === undefined || header.length < 8 || header.slice(0, 7).toLowerCase() !== 'bearer ') return undefined;
  const token = header.slice(7);
  if (!token.startsWith(TOKEN_PREFIX) || token.length > 200) return undefined;
  return cache.get(hashToken(token))?.user;
}

/** The user of an API token, from `cache` when it was verified within its TTL. */
export async function authenticateToken(db: Db, token: string, cache?: UserCache): Promise<AuthenticatedUser | null> {
  if (!token.startsWith(TOKEN_PREFIX) || token.length > 200) return null;
  const hash = hashToken(token);
  const cached = cache?.get(hash);
  if (cached) return cached.user;
  const row = await repo.findUserByTokenHash(db, hash);
  if (!row) return null;
  const user = toAuthenticated(row, 'token');
  cache?.remember(hash, { user });
  return user;
}

/**
 * Check a username and password. An unknown username costs the same scrypt work as a wrong
 * password (against dummyHash) and returns the same null, so neither answer nor timing tells
 * which usernames exist. A hash with outdated parameters is upgraded on success.
 */
export async function verifyCredentials(db: Db, username: string, password: string): Promise<UserRow | null> {
  const row = await repo.findUserByUsername(db, username);
  if (!row) {
    await verifyPassword(password, await dummyHash());
    return null;
  }
  if (!(await verifyPassword(password, row.passwordHash))) return null;
  const upgraded = needsRehash(row.passwordHash) ? await hashPassword(password) : undefined;
  return repo.recordLogin(db, row.id, upgraded);
}

/**
 * Revoke live tokens by their printed prefix (e.g. `cvt_AbCdEfGh`); returns how many were
 * revoked. Servers that verified one within TOKEN_CACHE_MS keep accepting it until then.
 */
export async function revokeTokens(db: Db, prefix: string): Promise<number> {
  return repo.revokeToken(db, prefix);
}
