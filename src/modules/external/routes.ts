/**
 * GET /api/external: the configured upstream's JSON, fetched without blocking. fetchJson
 * fails only with an UpstreamError, which the HTTP error table answers 504 past the
 * timeout and 502 otherwise.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Config } from '../../config/index.ts';
import { errorResponses } from '../../http/errors.ts';
import { fetchJson, policyFromConfig } from '../../lib/http/index.ts';

type ExternalConfig = Pick<Config, 'EXTERNAL_API_URL' | 'FETCH_TIMEOUT_MS' | 'FETCH_MAX_BYTES' | 'FETCH_ALLOW_PRIVATE' | 'fetchAllowedHosts'>;

export const externalRoutes: FastifyPluginAsyncTypebox<{ config: ExternalConfig }> = async (app, { config }) => {
  const policy = policyFromConfig(config);
  const fetchOpts = { timeoutMs: config.FETCH_TIMEOUT_MS, maxBytes: config.FETCH_MAX_BYTES, policy };

  app.get('/external', {
    schema: {
      tags: ['external'],
      summary: 'The configured upstream\'s JSON (EXTERNAL_API_URL), SSRF-safe, bounded in size and time',
      response: { 200: Type.Unknown({ description: 'The upstream body, as it sent it' }), ...errorResponses(502, 504) },
    },
    handler: async (_request, reply) => {
      const body = await fetchJson(config.EXTERNAL_API_URL, fetchOpts);
      // Serialized here so any JSON value (null, a string) goes out as JSON, not as an empty or text body.
      return reply.type('application/json; charset=utf-8').send(JSON.stringify(body));
    },
  });
};
