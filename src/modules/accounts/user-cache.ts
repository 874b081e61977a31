/**
 * Short-lived memory of "this credential is this user", one per kind (API tokens, sessions)
 * and per app: the authentication middleware owns its caches, so two apps in one process
 * (tests, or the API beside the monitor) never see each other's entries.
 *
 * Without it every authenticated request pays a database round trip before its real work (a
 * POST did two queries where a bare server does one). What this process changes (a logout)
 * it forgets at once; what another process changes (a logout there, a token revoked by the
 * CLI) takes effect here within the TTL. An entry never outlives the credential's own expiry.
 */
import type { AuthenticatedUser } from './user.ts';

const MAX_ENTRIES = 10_000;

export interface CachedUser {
  readonly user: AuthenticatedUser;
  /** For a session: the CSRF token its unsafe requests must carry, computed once. */
  readonly csrf?: Buffer | undefined;
}

interface Entry extends CachedUser {
  readonly until: number;
}

export class UserCache {
  readonly #ttlMs: number;
  readonly #entries = new Map<string, Entry>();

  constructor(ttlMs: number) {
    this.#ttlMs = ttlMs;
  }

  get(key: string): CachedUser | undefined {
    const hit = this.#entries.get(key);
    if (!hit) return undefined;
    if (hit.until > Date.now()) return hit;
    this.#entries.delete(key);
    return undefined;
  }

  /** Remember for the TTL, or until `expiresAt` (ms since the epoch) when that comes first. */
  remember(key: string, value: CachedUser, expiresAt = Infinity): void {
    if (this.#ttlMs <= 0) return;
    if (this.#entries.size >= MAX_ENTRIES) this.#entries.clear(); // bounded; a full cache simply starts over
    this.#entries.set(key, { ...value, until: Math.min(Date.now() + this.#ttlMs, expiresAt) });
  }

  forget(key: string): void {
    this.#entries.delete(key);
  }
}

/** The caches of one app's authentication middleware. */
export interface AuthCaches {
  /** Keyed by the token's SHA-256. */
  readonly tokens: UserCache;
  /** Keyed by the session id from the cookie. */
  readonly sessions: UserCache;
}

export function createAuthCaches(config: { TOKEN_CACHE_MS: number; SESSION_CACHE_MS: number }): AuthCaches {
  return { tokens: new UserCache(config.TOKEN_CACHE_MS), sessions: new UserCache(config.SESSION_CACHE_MS) };
}

declare module 'fastify' {
  interface FastifyInstance {
    /** This app's authentication caches (the logout route forgets its session here). */
    readonly authCaches: AuthCaches;
  }
}
