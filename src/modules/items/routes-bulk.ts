/** POST and PATCH /api/items/bulk: many items in one all-or-nothing request. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { errorResponses } from '../../http/errors.ts';
import type { ItemRepository } from './repository/index.ts';
import { BulkCreate, BulkCreated, BulkUpdate, BulkUpdated } from './schemas-bulk.ts';
import { bulkCreate, bulkUpdate } from './service-bulk.ts';

export const bulkRoutes: FastifyPluginAsyncTypebox<{ repo: ItemRepository; bodyLimit: number }> = async (app, { repo, bodyLimit }) => {
  app.post('/bulk', {
    bodyLimit,
    schema: {
      tags: ['items'],
      summary: 'Create up to 10,000 items at once',
      description: 'All or nothing: a taken name, or a name given twice, answers 409 and creates nothing. Body limit BULK_BODY_LIMIT.',
      body: BulkCreate,
      response: { 201: BulkCreated, ...errorResponses(400, 401, 409, 413, 415, 503) },
    },
    handler: async (request, reply) => reply.code(201).send(await bulkCreate(repo, request.body)),
  });

  app.patch('/bulk', {
    schema: {
      tags: ['items'],
      summary: 'Set fields on many items at once',
      description:
        'All or nothing: when an id matches no item the answer is 404 (`details.missing`) and nothing changes. ' +
        '`append_description` is appended in SQL (`description = description || $1`), after `set.description` when both are given.',
      body: BulkUpdate,
      response: { 200: BulkUpdated, ...errorResponses(400, 401, 404, 413, 415, 503) },
    },
    handler: (request) => bulkUpdate(repo, request.body),
  });
};
