/** Read-only queries over the whole table, and the two race-free "… or create" writes. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { errorResponses } from '../../app/errors.ts';
import { requireUser } from '../accounts/guards.ts';
import {
  Aggregate, Count, Exists, ExistsQuery, FirstLast, GetOrCreate, ItemOutcome, StatusFilter, UpdateOrCreate, writeSecurity,
} from './schemas.ts';
import * as service from './service.ts';

export const queryRoutes: FastifyPluginAsyncTypebox<{ store: service.ItemStore }> = async (app, { store }) => {
  app.get('/first-last', {
    schema: { tags: ['items'], summary: 'The items with the lowest and highest id (afirst / alast)', response: { 200: FirstLast, ...errorResponses(503) } },
    handler: () => service.firstAndLast(store),
  });

  app.get('/exists', {
    schema: {
      tags: ['items'],
      summary: 'Whether any item matches (filter(...).aexists)',
      description: 'Filters combine with AND; with neither, whether the table has any item.',
      querystring: ExistsQuery,
      response: { 200: Exists, ...errorResponses(400, 503) },
    },
    handler: (request) => service.itemExists(store, request.query),
  });

  app.get('/count', {
    schema: { tags: ['items'], summary: 'Count items (filter(...).acount)', querystring: StatusFilter, response: { 200: Count, ...errorResponses(400, 503) } },
    handler: (request) => service.countItems(store, request.query.status),
  });

  app.get('/aggregate', {
    schema: { tags: ['items'], summary: 'count, avg, min, max and sum of score (aaggregate)', querystring: StatusFilter, response: { 200: Aggregate, ...errorResponses(400, 503) } },
    handler: (request) => service.aggregateScores(store, request.query.status),
  });

  app.post('/get-or-create', {
    preHandler: requireUser,
    schema: {
      tags: ['items'],
      summary: 'Get the item with this name, or create it from the defaults (aget_or_create)',
      description: 'Race-free: any number of simultaneous calls with one name create exactly one item. 201 when created, 200 when found.',
      security: writeSecurity,
      body: GetOrCreate,
      response: { 200: ItemOutcome, 201: ItemOutcome, ...errorResponses(400, 401, 409, 413, 415, 503) },
    },
    handler: async (request, reply) => {
      const outcome = await service.getOrCreate(store, request.body);
      return reply.code(outcome.created ? 201 : 200).send(outcome);
    },
  });

  app.post('/update-or-create', {
    preHandler: requireUser,
    schema: {
      tags: ['items'],
      summary: 'Apply the defaults to the item found by id (else by name), or create it (aupdate_or_create)',
      description:
        'With `id`: the defaults are applied to that item and its name is left alone; when no item has that id, a new item is ' +
        'created from `name` and the defaults with a fresh id (ids are never chosen by clients), and without a `name` that is a 400. ' +
        'Without `id`: looked up by `name` in one race-free upsert. 201 when created, 200 when updated.',
      security: writeSecurity,
      body: UpdateOrCreate,
      response: { 200: ItemOutcome, 201: ItemOutcome, ...errorResponses(400, 401, 409, 413, 415, 503) },
    },
    handler: async (request, reply) => {
      const outcome = await service.updateOrCreate(store, request.body);
      return reply.code(outcome.created ? 201 : 200).send(outcome);
    },
  });
};
