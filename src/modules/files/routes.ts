/** GET /api/file — the seed's AsyncFileView: the configured data file, read without blocking. */
import { readFile } from 'node:fs/promises';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { AppError, errorResponses } from '../../app/errors.ts';
import type { Config } from '../../config/index.ts';

const FileData = Type.Object({ data: Type.String({ description: 'The file\'s text (UTF-8)' }) });
const missing = new Set(['ENOENT', 'ENOTDIR']);

export const filesRoutes: FastifyPluginAsyncTypebox<{ config: Pick<Config, 'DATA_FILE'> }> = async (app, { config }) => {
  app.get('/file', {
    schema: { tags: ['seed'], summary: 'The text of DATA_FILE', response: { 200: FileData, ...errorResponses(404) } },
    handler: async () => {
      try {
        return { data: await readFile(config.DATA_FILE, 'utf8') };
      } catch (err) {
        if (missing.has((err as NodeJS.ErrnoException).code ?? '')) throw new AppError('not_found', 'The data file does not exist');
        throw err;
      }
    },
  });
};
