/** Route guards: `preHandler: requireUser` on every write, `requireStaff` on the dashboard. */
import type { FastifyRequest } from 'fastify';
import { AppError } from '../../app/errors.ts';

export async function requireUser(request: FastifyRequest): Promise<void> {
  if (!request.user) throw new AppError('unauthenticated');
}

export async function requireStaff(request: FastifyRequest): Promise<void> {
  if (!request.user) throw new AppError('unauthenticated');
  if (!request.user.isStaff) throw new AppError('forbidden', 'Staff only');
}
