/**
 * No non-finite number reaches a handler. Ajv coerces "1e309" or "Infinity" in a path or
 * query string to Infinity *after* its integer and maximum checks have passed, and JSON.parse
 * reads 1e999 as Infinity; the database then rejects the query and the caller gets a 500.
 * Found by the fuzz test; this hook answers 400 invalid_request instead, for every route.
 */
import type { FastifyInstance } from 'fastify';
import { HttpError } from '../http/errors.ts';

const MAX_DEPTH = 64;

function nonFinitePath(value: unknown, path: string, depth: number): string | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : path;
  if (value === null || typeof value !== 'object' || depth > MAX_DEPTH) return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = nonFinitePath(value[i], `${path}.${i}`, depth + 1);
      if (found) return found;
    }
    return undefined;
  }
  for (const key of Object.keys(value)) {
    const found = nonFinitePath((value as Record<string, unknown>)[key], `${path}.${key}`, depth + 1);
    if (found) return found;
  }
  return undefined;
}

export function rejectNonFiniteNumbers(app: FastifyInstance): void {
  app.addHook('preHandler', (request, _reply, done) => {
    const field = nonFinitePath(request.params, 'params', 0) ?? nonFinitePath(request.query, 'querystring', 0) ?? nonFinitePath(request.body, 'body', 0);
    done(field ? new HttpError('invalid_request', 'Request validation failed', { details: [{ field, message: 'must be a finite number' }] }) : undefined);
  });
}
