/**
 * The validator's bounded walk: a failing request is examined only until MAX_ISSUES problems
 * are found, however large it is (Ajv's allErrors alone would allocate one per bad entry).
 */
import Fastify, { type FastifyError } from 'fastify';
import { describe, expect, it } from 'vitest';
import { registerValidation } from '../../src/app/validation.ts';
import { BulkCreate, BulkUpdate } from '../../src/modules/items/schemas-bulk.ts';

async function issuesFor(schema: object, payload: unknown): Promise<number> {
  const app = Fastify();
  registerValidation(app);
  let seen = -1;
  app.setErrorHandler((err: FastifyError, _request, reply) => {
    seen = err.validation?.length ?? -1;
    return reply.code(400).send();
  });
  app.post('/x', { schema: { body: schema } }, () => 'ok');
  const res = await app.inject({ method: 'POST', url: '/x', headers: { 'content-type': 'application/json' }, payload: JSON.stringify(payload) });
  await app.close();
  expect(res.statusCode).toBe(400);
  return seen;
}

describe('bounded validation', () => {
  it('stops collecting problems of a huge bad bulk body at 300', async () => {
    const entries = Array.from({ length: 50_000 }, (_, i) => ({ name: i, status: 'gone', score: 'x' }));
    expect(await issuesFor(BulkCreate, entries)).toBeLessThanOrEqual(300);
  });

  it('bounds a long bad array nested in an object too', async () => {
    expect(await issuesFor(BulkUpdate, { ids: Array.from({ length: 50_000 }, () => 'x'), set: { score: 1 } })).toBeLessThanOrEqual(300);
  });

  it('finds a bad entry after a long valid run', async () => {
    const entries = [...Array.from({ length: 9_000 }, (_, i) => ({ name: `n${i}` })), { name: 1, score: 'x' }];
    expect(await issuesFor(BulkCreate, entries)).toBe(2);
  });
});
