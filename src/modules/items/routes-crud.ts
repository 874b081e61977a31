/** Single-item routes: list, get, create, update, delete. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { errorResponses } from '../../http/errors.ts';
import type { ItemRepository } from './repository/index.ts';
import { CreateItem, Item, ItemId, ItemPage, ListQuery, UpdateItem } from './schemas.ts';
import * as service from './service.ts';

export const crudRoutes: FastifyPluginAsyncTypebox<{ repo: ItemRepository }> = async (app, { repo }) => {
  // The contract's path is /api/items exactly; 'no-slash' also keeps OpenAPI from listing it as /api/items/.
  app.get('/', {
    prefixTrailingSlash: 'no-slash',
    schema: {
      tags: ['items'],
      summary: 'List items by id, a page at a time',
      description: 'Keyset pagination: pass the `next` of one page as `after` to get the following one.',
      querystring: ListQuery,
      response: { 200: ItemPage, ...errorResponses(400, 503) },
    },
    handler: (request) => service.listItems(repo, request.query),
  });

  app.get('/:id', {
    schema: { tags: ['items'], summary: 'Get an item', params: ItemId, response: { 200: Item, ...errorResponses(400, 404, 503) } },
    handler: (request) => service.getItem(repo, request.params.id),
  });

  app.post('/', {
    prefixTrailingSlash: 'no-slash',
    schema: {
      tags: ['items'],
      summary: 'Create an item',
      body: CreateItem,
      response: { 201: Item, ...errorResponses(400, 401, 409, 413, 415, 503) },
    },
    handler: async (request, reply) => {
      const item = await service.createItem(repo, request.body);
      return reply.code(201).header('location', `/api/items/${item.id}`).send(item);
    },
  });

  app.patch('/:id', {
    schema: {
      tags: ['items'],
      summary: 'Update some fields of an item',
      description: 'Any subset of the fields; `updated_at` is bumped even when the body is `{}`.',
      params: ItemId,
      body: UpdateItem,
      response: { 200: Item, ...errorResponses(400, 401, 404, 409, 413, 415, 503) },
    },
    handler: (request) => service.updateItem(repo, request.params.id, request.body),
  });

  app.delete('/:id', {
    schema: {
      tags: ['items'],
      summary: 'Delete an item',
      params: ItemId,
      response: { 204: { type: 'null', description: 'Deleted' }, ...errorResponses(400, 401, 404, 503) },
    },
    handler: async (request, reply) => {
      await service.deleteItem(repo, request.params.id);
      return reply.code(204).send(null);
    },
  });
};
