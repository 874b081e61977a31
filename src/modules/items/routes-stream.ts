/** GET /api/items/stream: every matching item as NDJSON, streamed with back-pressure. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { errorResponses } from '../../http/errors.ts';
import type { ItemRepository } from './repository/index.ts';
import { Item, StatusFilter } from './schemas.ts';
import { openItemStream } from './stream.ts';

export const streamRoutes: FastifyPluginAsyncTypebox<{ repo: ItemRepository }> = async (app, { repo }) => {
  app.get('/stream', {
    schema: {
      tags: ['items'],
      summary: 'Every item, one JSON object per line, by id',
      description: 'Memory stays flat however many rows: rows are read in batches and written as the client reads.',
      querystring: StatusFilter,
      response: {
        200: { description: 'One Item per line', content: { 'application/x-ndjson': { schema: Item } } },
        ...errorResponses(400, 503),
      },
    },
    handler: async (request, reply) => {
      const stream = await openItemStream(repo, request.query.status);
      // The 200 schema describes each line for OpenAPI; the body itself is a stream, not an Item.
      // x-accel-buffering: a proxy (nginx) that buffered the response would defeat both the
      // fast first row and the back-pressure.
      return reply.type('application/x-ndjson').header('cache-control', 'no-store').header('x-accel-buffering', 'no').send(stream as never);
    },
  });
};
