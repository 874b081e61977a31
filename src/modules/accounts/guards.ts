/**
 * Who may go on. Every write under /api/ gets `requireUser` from the authentication
 * middleware (closed by default, see authentication.ts); the dashboard's plugin adds
 * `requireStaff` to all its routes. Callback-style hooks: a check that never waits for
 * anything costs no promise per request.
 */
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { NotAllowed, NotAuthenticated } from './errors.ts';

/** Why `request` may not go on as a user (401), or undefined when it may. */
export function userRefusal(request: FastifyRequest): NotAuthenticated | undefined {
  return request.user ? undefined : new NotAuthenticated();
}

export function requireUser(request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction): void {
  done(userRefusal(request));
}

export function requireStaff(request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction): void {
  done(userRefusal(request) ?? (request.user!.isStaff ? undefined : new NotAllowed('Staff only')));
}
