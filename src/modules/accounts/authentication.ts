/**
 * Middleware 3 (the seed's AsyncAuthenticationMiddleware): sets `request.user` from an
 * `Authorization: Bearer` API token, or leaves the anonymous user (null).
 */
import type { FastifyInstance } from 'fastify';
import { AppError } from '../../app/errors.ts';
import type { Database } from '../../db/client.ts';
import { authenticateToken } from './service.ts';

export function authentication(app: FastifyInstance, deps: { database: Database }): void {
  app.decorateRequest('user', null);
  app.addHook('onRequest', async (request) => {
    const header = request.headers.authorization;
    if (!header) return;
    const [scheme, token] = header.split(' ', 2);
    if (scheme?.toLowerCase() !== 'bearer' || !token) {
      throw new AppError('unauthenticated', 'Authorization must be "Bearer <token>"');
    }
    const user = await authenticateToken(deps.database.db, token);
    if (!user) throw new AppError('unauthenticated', 'Invalid or revoked token');
    request.user = user;
  });
}
