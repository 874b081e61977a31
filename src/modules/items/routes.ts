/**
 * Items HTTP routes under /api/items: thin handlers over the service; schemas give
 * validation, fast serialisation and OpenAPI. Static paths (/count, /bulk, …) win over
 * `/:id` in Fastify's router whatever the registration order.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Database } from '../../db/client.ts';
import { bulkRoutes } from './routes-bulk.ts';
import { crudRoutes } from './routes-crud.ts';
import { queryRoutes } from './routes-queries.ts';
import { streamRoutes } from './routes-stream.ts';
import { createItemRepository } from './repository/index.ts';

export interface ItemsRoutesOptions {
  database: Database;
  /** Body limit of POST /api/items/bulk in bytes (config BULK_BODY_LIMIT). Default 16 MiB. */
  bulkBodyLimit?: number;
}

export const itemsRoutes: FastifyPluginAsyncTypebox<ItemsRoutesOptions> = async (app, opts) => {
  const repo = createItemRepository(opts.database);
  await app.register(queryRoutes, { repo });
  await app.register(bulkRoutes, { repo, bodyLimit: opts.bulkBodyLimit ?? 16 * 1024 * 1024 });
  await app.register(streamRoutes, { repo });
  await app.register(crudRoutes, { repo });
};
