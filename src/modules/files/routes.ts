/** GET /api/file: the configured data file's text, read without blocking. */
import { readFile } from 'node:fs/promises';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Config } from '../../config/index.ts';
import { errorResponses } from '../../http/errors.ts';
import { DataFileMissing } from './errors.ts';

const FileData = Type.Object({ data: Type.String({ description: 'The file\'s text (UTF-8)' }) });
const missing = new Set(['ENOENT', 'ENOTDIR']);

export const filesRoutes: FastifyPluginAsyncTypebox<{ config: Pick<Config, 'DATA_FILE'> }> = async (app, { config }) => {
  app.get('/file', {
    schema: { tags: ['files'], summary: 'The text of the configured data file (DATA_FILE)', response: { 200: FileData, ...errorResponses(404) } },
    handler: async () => {
      try {
        return { data: await readFile(config.DATA_FILE, 'utf8') };
      } catch (err) {
        if (missing.has((err as NodeJS.ErrnoException).code ?? '')) throw new DataFileMissing({ cause: err });
        throw err;
      }
    },
  });
};
