/**
 * Middleware 3 (the seed's AsyncAuthenticationMiddleware): sets `request.user` from an
 * `Authorization: Bearer` API token or the `conveyor_session` cookie, else leaves the
 * anonymous user (null). A cookie-authenticated unsafe request must also carry a valid
 * `x-csrf-token` (403 otherwise); token-authenticated calls are exempt, since a browser
 * never attaches an Authorization header on its own. Routes opt out with `config: { csrf: false }`
 * (login, which checks the request's origin instead).
 *
 * Writes are closed by default: every POST/PUT/PATCH/DELETE route under /api/ gets `requireUser`
 * as its first onRequest hook, so an anonymous write answers 401 before its body is even read
 * or validated, and a new route cannot forget the guard. `config: { public: true }` opts out
 * (login, logout). Routes still declare `requireUser`/`requireStaff` themselves for clarity.
 */
import type { FastifyInstance, FastifyRequest, onRequestHookHandler } from 'fastify';
import { AppError } from '../../app/errors.ts';
import type { Config } from '../../config/index.ts';
import type { Database } from '../../db/client.ts';
import { readSessionCookie } from './cookies.ts';
import { CSRF_HEADER, csrfValid, UNSAFE_METHODS } from './csrf.ts';
import { userRefusal } from './guards.ts';
import { resolveSecretKey } from './secret-key.ts';
import { authenticateToken, cachedTokenUser, toAuthenticated } from './service.ts';
import { sessionUser } from './sessions.ts';

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

export function authentication(app: FastifyInstance, config: Pick<Config, 'SECRET_KEY' | 'dataDir' | 'TOKEN_CACHE_MS'>, deps: { database: Database }): void {
  const secret = resolveSecretKey(config);
  const { db } = deps.database;
  app.decorateRequest('user', null);
  app.decorateRequest('sessionId', null);
  app.addHook('onRoute', (route) => {
    const methods = [route.method].flat();
    if (!route.url.startsWith('/api/') || route.config?.public === true || !methods.some((m) => UNSAFE_METHODS.has(m))) return;
    // A route may serve GET and POST alike; only its unsafe methods need a user.
    const guard: onRequestHookHandler = (request, _reply, done) => done(UNSAFE_METHODS.has(request.method) ? userRefusal(request) : undefined);
    route.onRequest = [guard, ...[route.onRequest ?? []].flat()] as typeof route.onRequest;
  });
  // Callback style: an anonymous request (no Authorization, no cookie) costs no promise.
  app.addHook('onRequest', (request, _reply, done) => {
    if (request.headers.authorization === undefined && request.headers.cookie === undefined) return done();
    // A token seen in the last TOKEN_CACHE_MS is answered from memory, without a promise.
    const known = cachedTokenUser(request.headers.authorization);
    if (known) {
      request.user = known;
      return done();
    }
    authenticate(request).then(() => done(), done);
  });

  async function authenticate(request: FastifyRequest): Promise<void> {
    const header = request.headers.authorization;
    if (header) {
      const [scheme, token] = header.split(' ', 2);
      if (scheme?.toLowerCase() !== 'bearer' || !token) {
        throw new AppError('unauthenticated', 'Authorization must be "Bearer <token>"');
      }
      const user = await authenticateToken(db, token, config.TOKEN_CACHE_MS);
      if (!user) throw new AppError('unauthenticated', 'Invalid or revoked token');
      request.user = user;
      return;
    }
    const sessionId = readSessionCookie(request);
    if (!sessionId) return;
    const row = await sessionUser(db, sessionId);
    if (!row) return; // expired or ended: the anonymous user; routes that need one answer 401
    request.user = toAuthenticated(row, 'session');
    request.sessionId = sessionId;
    if (UNSAFE_METHODS.has(request.method) && request.routeOptions.config.csrf !== false && !csrfValid(secret, sessionId, request.headers[CSRF_HEADER])) {
      throw new AppError('forbidden', `CSRF token missing or invalid: send the ${CSRF_HEADER} header (the conveyor_csrf cookie's value)`);
    }
  }
}
