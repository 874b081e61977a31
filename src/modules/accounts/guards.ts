/**
 * Route guards: `preHandler: requireUser` on every write, `requireStaff` on the dashboard.
 * Callback-style hooks: a check that never waits for anything costs no promise per request.
 */
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { AppError } from '../../app/errors.ts';

/** Why `request` may not go on as a user (401), or undefined when it may. */
export function userRefusal(request: FastifyRequest): AppError | undefined {
  return request.user ? undefined : new AppError('unauthenticated');
}

export function requireUser(request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction): void {
  done(userRefusal(request));
}

export function requireStaff(request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction): void {
  done(userRefusal(request) ?? (request.user!.isStaff ? undefined : new AppError('forbidden', 'Staff only')));
}
