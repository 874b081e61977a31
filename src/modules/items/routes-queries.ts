/** Read-only queries over the whole table, and the two race-free "… or create" writes. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { errorResponses } from '../../http/errors.ts';
import type { ItemRepository } from './repository/index.ts';
import { Aggregate, Count, Exists, ExistsQuery, FirstLast, GetOrCreate, ItemOutcome, StatusFilter, UpdateOrCreate } from './schemas.ts';
import * as service from './service.ts';

export const queryRoutes: FastifyPluginAsyncTypebox<{ repo: ItemRepository }> = async (app, { repo }) => {
  app.get('/first-last', {
    schema: { tags: ['items'], summary: 'The items with the lowest and highest id', response: { 200: FirstLast, ...errorResponses(503) } },
    handler: () => service.firstAndLast(repo),
  });

  app.get('/exists', {
    schema: {
      tags: ['items'],
      summary: 'Whether any item matches',
      description: 'Filters combine with AND; with neither, whether the table has any item.',
      querystring: ExistsQuery,
      response: { 200: Exists, ...errorResponses(400, 503) },
    },
    handler: (request) => service.itemExists(repo, request.query),
  });

  app.get('/count', {
    schema: { tags: ['items'], summary: 'Count items', querystring: StatusFilter, response: { 200: Count, ...errorResponses(400, 503) } },
    handler: (request) => service.countItems(repo, request.query.status),
  });

  app.get('/aggregate', {
    schema: { tags: ['items'], summary: 'Count, average, minimum, maximum and sum of score', querystring: StatusFilter, response: { 200: Aggregate, ...errorResponses(400, 503) } },
    handler: (request) => service.aggregateScores(repo, request.query.status),
  });

  app.post('/get-or-create', {
    schema: {
      tags: ['items'],
      summary: 'Get the item with this name, or create it from the defaults',
      description: 'Race-free: any number of simultaneous calls with one name create exactly one item. 201 when created, 200 when found.',
      body: GetOrCreate,
      response: { 200: ItemOutcome, 201: ItemOutcome, ...errorResponses(400, 401, 409, 413, 415, 503) },
    },
    handler: async (request, reply) => {
      const outcome = await service.getOrCreate(repo, request.body);
      return reply.code(outcome.created ? 201 : 200).send(outcome);
    },
  });

  app.post('/update-or-create', {
    schema: {
      tags: ['items'],
      summary: 'Apply the defaults to the item found by id (else by name), or create it',
      description:
        'With `id`: the defaults are applied to that item and its name is left alone; when no item has that id, a new item is ' +
        'created from `name` and the defaults with a fresh id (ids are never chosen by clients), and without a `name` that is a 400. ' +
        'Without `id`: looked up by `name` in one race-free upsert. 201 when created, 200 when updated.',
      body: UpdateOrCreate,
      response: { 200: ItemOutcome, 201: ItemOutcome, ...errorResponses(400, 401, 409, 413, 415, 503) },
    },
    handler: async (request, reply) => {
      const outcome = await service.updateOrCreate(repo, request.body);
      return reply.code(outcome.created ? 201 : 200).send(outcome);
    },
  });
};
