/** Items HTTP routes: thin handlers over the service; schemas give validation and OpenAPI. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { errorResponses } from '../../app/errors.ts';
import type { Database } from '../../db/client.ts';
import { requireUser } from '../accounts/guards.ts';
import { CreateItem, Item, ItemId } from './schemas.ts';
import * as service from './service.ts';

export const itemsRoutes: FastifyPluginAsyncTypebox<{ database: Database }> = async (app, { database }) => {
  const { db } = database;

  app.get('/:id', {
    schema: { tags: ['items'], summary: 'Get an item (aget)', params: ItemId, response: { 200: Item, ...errorResponses(400, 404) } },
    handler: async (request) => service.getItem(db, request.params.id),
  });

  app.post('/', {
    preHandler: requireUser,
    schema: {
      tags: ['items'],
      summary: 'Create an item (acreate)',
      security: [{ bearer: [] }, { session: [] }],
      body: CreateItem,
      response: { 201: Item, ...errorResponses(400, 401, 409, 413, 415) },
    },
    handler: async (request, reply) => {
      const item = await service.createItem(db, request.body);
      return reply.code(201).header('location', `/api/items/${item.id}`).send(item);
    },
  });
};
