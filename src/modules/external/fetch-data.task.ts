/**
 * The built-in task `fetch_data(url)`: GET the URL with the SSRF-safe client and store
 * its JSON body as the result. A refused address, a non-JSON or oversized body will not
 * get better by retrying, so those end FAILURE at once; network trouble, timeouts and 5xx
 * are retried with backoff.
 */
import { Type } from 'typebox';
import type { Config } from '../../config/index.ts';
import { fetchJson, policyFromConfig, UpstreamError } from '../../lib/http/index.ts';
import { defineTask, NonRetryableError } from '../../tasks/define.ts';

const permanent = new Set(['refused', 'not_json', 'too_large']);

export function fetchDataTask(config: Pick<Config, 'FETCH_ALLOW_PRIVATE' | 'fetchAllowedHosts' | 'FETCH_TIMEOUT_MS' | 'FETCH_MAX_BYTES'>) {
  const policy = policyFromConfig(config);
  return defineTask({
    name: 'fetch_data',
    payload: Type.Object({ url: Type.String({ minLength: 1, maxLength: 2048, format: 'uri' }) }, { additionalProperties: false }),
    options: { retries: 3, backoff: { type: 'exponential', delayMs: 1_000, maxDelayMs: 30_000 } },
    async handler({ url }, ctx) {
      try {
        return await fetchJson(url, { signal: ctx.signal, timeoutMs: config.FETCH_TIMEOUT_MS, maxBytes: config.FETCH_MAX_BYTES, policy });
      } catch (err) {
        if (err instanceof UpstreamError && (permanent.has(err.kind) || (err.kind === 'status' && (err.status ?? 0) < 500 && err.status !== 429))) {
          throw new NonRetryableError(err.message, { cause: err });
        }
        throw err;
      }
    },
  });
}
