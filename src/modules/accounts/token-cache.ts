/**
 * A short-lived, process-local cache of API token → user. Without it every Bearer request
 * pays a database round trip before its real work (a POST did two queries where a bare
 * server does one). Revoking in this process clears the cache at once; a revocation made by
 * another process (the CLI, another server) takes effect here within the TTL.
 */
import type { AuthenticatedUser } from './user.ts';

/** Default TTL; `TOKEN_CACHE_MS` overrides it (0 disables the cache). */
export const DEFAULT_TOKEN_CACHE_MS = 2_000;
const MAX_ENTRIES = 10_000;

const entries = new Map<string, { user: AuthenticatedUser; until: number }>();

export function cachedUser(tokenHash: string): AuthenticatedUser | undefined {
  const hit = entries.get(tokenHash);
  if (!hit) return undefined;
  if (hit.until > Date.now()) return hit.user;
  entries.delete(tokenHash);
  return undefined;
}

export function rememberUser(tokenHash: string, user: AuthenticatedUser, ttlMs: number): void {
  if (ttlMs <= 0) return;
  if (entries.size >= MAX_ENTRIES) entries.clear(); // bounded; a full cache simply starts over
  entries.set(tokenHash, { user, until: Date.now() + ttlMs });
}

export function forgetTokens(): void {
  entries.clear();
}
