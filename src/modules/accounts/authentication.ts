/**
 * Middleware 3, authentication: sets `request.user` from an
 * `Authorization: Bearer` API token or the `conveyor_session` cookie, else leaves the
 * anonymous user (null). A cookie-authenticated unsafe request must also carry a valid
 * `x-csrf-token` (403 otherwise); token-authenticated calls are exempt, since a browser
 * never attaches an Authorization header on its own. Routes opt out with `config: { csrf: false }`
 * (login, which checks the request's origin instead).
 *
 * A verified token or session is remembered for TOKEN_CACHE_MS / SESSION_CACHE_MS in caches
 * this middleware owns (one pair per app, `app.authCaches`), so an authenticated request
 * costs no database round trip; the logout route forgets its session there at once.
 *
 * Writes are closed by default, and this is the one place that says so: every POST/PUT/PATCH/
 * DELETE route under /api/ gets `requireUser` as its first onRequest hook (so an anonymous write
 * answers 401 before its body is even read or validated, and a new route cannot forget the
 * guard) and the user security list in its OpenAPI entry. `config: { public: true }` opts out
 * (login, logout). Routes do not repeat the guard.
 */
import type { FastifyInstance, FastifyRequest, onRequestHookHandler } from 'fastify';
import type { Config } from '../../config/index.ts';
import type { Database } from '../../db/client.ts';
import { userSecurity } from '../../http/openapi.ts';
import { readSessionCookie } from './cookies.ts';
import { CSRF_HEADER, csrfMatches, csrfToken, UNSAFE_METHODS } from './csrf.ts';
import { NotAllowed, NotAuthenticated } from './errors.ts';
import { userRefusal } from './guards.ts';
import { resolveSecretKey } from './secret-key.ts';
import { authenticateToken, cachedTokenUser, toAuthenticated } from './service.ts';
import { sessionUser } from './sessions.ts';
import { createAuthCaches, type CachedUser } from './user-cache.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The session id from the cookie when the request authenticated by session, else null. */
    sessionId: string | null;
  }
  interface FastifyContextConfig {
    /** false: skip the CSRF-token check on this route (it must defend itself otherwise). */
    csrf?: boolean;
    /** true: an /api write route anonymous visitors may call (login, logout). */
    public?: boolean;
  }
}

const csrfRefusal = () => new NotAllowed(`CSRF token missing or invalid: send the ${CSRF_HEADER} header (the conveyor_csrf cookie's value)`);

export function authentication(
  app: FastifyInstance,
  config: Pick<Config, 'SECRET_KEY' | 'dataDir' | 'TOKEN_CACHE_MS' | 'SESSION_CACHE_MS'>,
  deps: { database: Database },
): void {
  const secret = resolveSecretKey(config);
  const { db } = deps.database;
  const caches = createAuthCaches(config);
  app.decorate('authCaches', caches);
  app.decorateRequest('user', null);
  app.decorateRequest('sessionId', null);
  app.addHook('onRoute', (route) => {
    const methods = [route.method].flat();
    if (!route.url.startsWith('/api/') || route.config?.public === true || !methods.some((m) => UNSAFE_METHODS.has(m))) return;
    // A route may serve GET and POST alike; only its unsafe methods need a user.
    const guard: onRequestHookHandler = (request, _reply, done) => done(UNSAFE_METHODS.has(request.method) ? userRefusal(request) : undefined);
    route.onRequest = [guard, ...[route.onRequest ?? []].flat()] as typeof route.onRequest;
    route.schema = { ...route.schema, security: route.schema?.security ?? userSecurity };
  });
  /** Take a verified session for this request; a refusal when an unsafe request lacks its CSRF token. */
  function useSession(request: FastifyRequest, sessionId: string, session: CachedUser): NotAllowed | undefined {
    request.user = session.user;
    request.sessionId = sessionId;
    if (!UNSAFE_METHODS.has(request.method) || request.routeOptions.config.csrf === false) return undefined;
    return csrfMatches(session.csrf!, request.headers[CSRF_HEADER]) ? undefined : csrfRefusal();
  }

  // Callback style: an anonymous request (no Authorization, no cookie) costs no promise, and
  // neither does a token or session seen in the last TOKEN_CACHE_MS / SESSION_CACHE_MS.
  app.addHook('onRequest', (request, _reply, done) => {
    const { authorization, cookie } = request.headers;
    if (authorization === undefined && cookie === undefined) return done();
    if (authorization !== undefined) {
      const known = cachedTokenUser(authorization, caches.tokens);
      if (known) {
        request.user = known;
        return done();
      }
    } else {
      const sessionId = readSessionCookie(request);
      const known = sessionId === undefined ? undefined : caches.sessions.get(sessionId);
      if (known) return done(useSession(request, sessionId!, known));
    }
    authenticate(request).then(() => done(), done);
  });

  async function authenticate(request: FastifyRequest): Promise<void> {
    const header = request.headers.authorization;
    if (header) {
      const [scheme, token] = header.split(' ', 2);
      if (scheme?.toLowerCase() !== 'bearer' || !token) {
        throw new NotAuthenticated('Authorization must be "Bearer <token>"');
      }
      const user = await authenticateToken(db, token, caches.tokens);
      if (!user) throw new NotAuthenticated('Invalid or revoked token');
      request.user = user;
      return;
    }
    const sessionId = readSessionCookie(request);
    if (!sessionId) return;
    const found = await sessionUser(db, sessionId);
    if (!found) return; // expired or ended: the anonymous user; routes that need one answer 401
    const session: CachedUser = { user: toAuthenticated(found.user, 'session'), csrf: Buffer.from(csrfToken(secret, sessionId)) };
    caches.sessions.remember(sessionId, session, found.expiresAt.getTime());
    const refusal = useSession(request, sessionId, session);
    if (refusal) throw refusal;
  }
}
