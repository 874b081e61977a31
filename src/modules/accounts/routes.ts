/**
 * POST /api/auth/login, POST /api/auth/logout, GET /api/auth/me. Login is rate-limited per
 * client address and per username (in-memory counters, per process: with N processes an
 * attacker gets N times the budget, still far too few guesses for a decent password).
 */
import rateLimit from '@fastify/rate-limit';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { Config } from '../../config/index.ts';
import type { Database } from '../../db/client.ts';
import { errorResponses } from '../../http/errors.ts';
import { clearSessionCookies, readSessionCookie, setSessionCookies } from './cookies.ts';
import { csrfToken, sameOriginOrDirect } from './csrf.ts';
import { InvalidCredentials, LoginThrottled, NotAllowed } from './errors.ts';
import { findUserById } from './repository.ts';
import { resolveSecretKey } from './secret-key.ts';
import { verifyCredentials } from './service.ts';
import { endSession, purgeExpiredSessions, startSession } from './sessions.ts';
import { toUser, User } from './user.ts';

type AccountsConfig = Pick<Config, 'SECRET_KEY' | 'dataDir' | 'SESSION_MAX_AGE' | 'LOGIN_RATE_PER_IP' | 'LOGIN_RATE_PER_USER'>;

const Credentials = Type.Object(
  { username: Type.String({ minLength: 1, maxLength: 150 }), password: Type.String({ minLength: 1, maxLength: 1024 }) },
  { additionalProperties: false },
);
const AuthState = Type.Object({
  user: Type.Union([User, Type.Null()]),
  csrf_token: Type.Optional(Type.String({ description: 'Send as x-csrf-token on unsafe requests made with the session cookie' })),
});

const PURGE_EVERY_MS = 60 * 60 * 1000;

export const accountsRoutes: FastifyPluginAsyncTypebox<{ database: Database; config: AccountsConfig }> = async (app, { database, config }) => {
  const { db } = database;
  const secret = resolveSecretKey(config);

  await app.register(rateLimit, { global: false });
  const perIp = app.createRateLimit({ max: config.LOGIN_RATE_PER_IP, timeWindow: 60_000, keyGenerator: (r) => `login-ip:${r.ip}` });
  const perUser = app.createRateLimit({
    max: config.LOGIN_RATE_PER_USER,
    timeWindow: 60_000,
    keyGenerator: (r) => `login-user:${String((r.body as { username?: unknown } | undefined)?.username ?? '').toLowerCase()}`,
  });
  async function loginRateLimit(request: FastifyRequest): Promise<void> {
    for (const limit of [perIp, perUser]) {
      const r = await limit(request);
      if (!r.isAllowed && r.isExceeded) {
        throw new LoginThrottled(r.ttlInSeconds);
      }
    }
  }

  // Expired sessions are also purged at each login; this catches a server nobody logs in to.
  const purge = setInterval(() => purgeExpiredSessions(db).catch((err: unknown) => app.log.warn({ err }, 'session purge failed')), PURGE_EVERY_MS);
  purge.unref();
  app.addHook('onClose', async () => clearInterval(purge));

  app.post('/login', {
    config: { csrf: false, public: true },
    preHandler: loginRateLimit,
    schema: {
      tags: ['accounts'],
      summary: 'Log in with a username and password; sets the session and CSRF cookies',
      body: Credentials,
      response: { 200: AuthState, ...errorResponses(400, 401, 403, 413, 415, 429) },
    },
    handler: async (request, reply) => {
      // Login CSRF: a hostile page must not log the victim's browser into another account.
      if (!sameOriginOrDirect(request)) throw new NotAllowed('Cross-site login refused');
      const row = await verifyCredentials(db, request.body.username, request.body.password);
      if (!row) throw new InvalidCredentials();
      const previous = readSessionCookie(request);
      if (previous) app.authCaches.sessions.forget(previous);
      const session = await startSession(db, row.id, config.SESSION_MAX_AGE, previous);
      const csrf = csrfToken(secret, session.id);
      setSessionCookies(request, reply, { id: session.id, csrf, maxAge: config.SESSION_MAX_AGE });
      return { user: toUser(row), csrf_token: csrf };
    },
  });

  app.post('/logout', {
    config: { public: true },
    schema: { tags: ['accounts'], summary: 'End the session (idempotent)', response: { 204: Type.Null(), ...errorResponses(403) } },
    handler: async (request, reply) => {
      const sessionId = readSessionCookie(request);
      if (sessionId) {
        // Forgotten here at once; other processes keep it for SESSION_CACHE_MS at most.
        app.authCaches.sessions.forget(sessionId);
        await endSession(db, sessionId);
      }
      clearSessionCookies(request, reply);
      return reply.code(204).send(null);
    },
  });

  app.get('/me', {
    schema: { tags: ['accounts'], summary: 'The current user, or null for an anonymous visitor', response: { 200: AuthState } },
    handler: async (request) => {
      const user = request.user;
      if (!user) return { user: null };
      const row = await findUserById(db, user.id);
      return { user: row ? toUser(row) : null, ...(request.sessionId ? { csrf_token: csrfToken(secret, request.sessionId) } : {}) };
    },
  });
};
