/** POST and PATCH /api/items/bulk: many items in one all-or-nothing request. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { errorResponses } from '../../app/errors.ts';
import { requireUser } from '../accounts/guards.ts';
import { BulkCreate, BulkCreated, BulkUpdate, BulkUpdated } from './schemas-bulk.ts';
import { writeSecurity } from './schemas.ts';
import { bulkCreate, bulkUpdate } from './service-bulk.ts';
import type { ItemStore } from './service.ts';

export const bulkRoutes: FastifyPluginAsyncTypebox<{ store: ItemStore; bodyLimit: number }> = async (app, { store, bodyLimit }) => {
  app.post('/bulk', {
    preHandler: requireUser,
    bodyLimit,
    schema: {
      tags: ['items'],
      summary: 'Create up to 10,000 items at once (abulk_create)',
      description: 'All or nothing: a taken name, or a name given twice, answers 409 and creates nothing. Body limit BULK_BODY_LIMIT.',
      security: writeSecurity,
      body: BulkCreate,
      response: { 201: BulkCreated, ...errorResponses(400, 401, 409, 413, 415, 503) },
    },
    handler: async (request, reply) => reply.code(201).send(await bulkCreate(store, request.body)),
  });

  app.patch('/bulk', {
    preHandler: requireUser,
    schema: {
      tags: ['items'],
      summary: 'Set fields on many items at once (abulk_update)',
      description:
        'All or nothing: when an id matches no item the answer is 404 (`details.missing`) and nothing changes. ' +
        '`append_description` is appended in SQL (`description = description || $1`), after `set.description` when both are given.',
      security: writeSecurity,
      body: BulkUpdate,
      response: { 200: BulkUpdated, ...errorResponses(400, 401, 404, 413, 415, 503) },
    },
    handler: (request) => bulkUpdate(store, request.body),
  });
};
