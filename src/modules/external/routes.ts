/** GET /api/external — the seed's AsyncHttpView: the configured upstream's JSON, fetched without blocking. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { AppError, errorResponses } from '../../app/errors.ts';
import type { Config } from '../../config/index.ts';
import { fetchJson, policyFromConfig, UpstreamError } from '../../lib/http/index.ts';

type ExternalConfig = Pick<Config, 'EXTERNAL_API_URL' | 'FETCH_TIMEOUT_MS' | 'FETCH_MAX_BYTES' | 'FETCH_ALLOW_PRIVATE' | 'fetchAllowedHosts'>;

/** Map an outbound failure onto the contract: 504 past the timeout, 502 for everything else. */
export function upstreamAppError(err: unknown): AppError {
  if (err instanceof UpstreamError) {
    const code = err.kind === 'timeout' ? 'upstream_timeout' : 'upstream_error';
    return new AppError(code, undefined, { details: { reason: err.kind, ...(err.status ? { status: err.status } : {}) }, cause: err });
  }
  return new AppError('upstream_error', undefined, { cause: err });
}

export const externalRoutes: FastifyPluginAsyncTypebox<{ config: ExternalConfig }> = async (app, { config }) => {
  const policy = policyFromConfig(config);
  const fetchOpts = { timeoutMs: config.FETCH_TIMEOUT_MS, maxBytes: config.FETCH_MAX_BYTES, policy };

  app.get('/external', {
    schema: {
      tags: ['seed'],
      summary: 'The configured upstream\'s JSON (EXTERNAL_API_URL), SSRF-safe, bounded in size and time',
      response: { 200: Type.Unknown({ description: 'The upstream body, as it sent it' }), ...errorResponses(502, 504) },
    },
    handler: async (_request, reply) => {
      let body: unknown;
      try {
        body = await fetchJson(config.EXTERNAL_API_URL, fetchOpts);
      } catch (err) {
        throw upstreamAppError(err);
      }
      // Serialized here so any JSON value (null, a string) goes out as JSON, not as an empty or text body.
      return reply.type('application/json; charset=utf-8').send(JSON.stringify(body));
    },
  });
};
