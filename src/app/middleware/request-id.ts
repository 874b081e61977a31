/** Middleware 1: every request gets an id (the client's `x-request-id` when it is sane), echoed on every response. */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, RawRequestDefaultExpression } from 'fastify';

const SANE_ID = /^[\w.:@/+=-]{1,128}$/;

/** Fastify's `genReqId`: reuse the caller's id so logs correlate across services. */
export function genReqId(req: RawRequestDefaultExpression): string {
  const sent = req.headers['x-request-id'];
  return typeof sent === 'string' && SANE_ID.test(sent) ? sent : randomUUID();
}

export function requestId(app: FastifyInstance): void {
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
  });
}
