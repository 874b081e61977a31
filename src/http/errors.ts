/**
 * The error catalogue: every failure the API reports has a stable code, a status and a
 * default message. Services throw their own domain errors; the error handler's table
 * (src/app/error-table.ts) turns each into an HttpError of this catalogue. Routes and
 * hooks that decide an HTTP answer themselves may throw an HttpError directly.
 */
import { Type, type Static } from 'typebox';

export const errorCatalogue = {
  invalid_request: { status: 400, message: 'The request is invalid' },
  unauthenticated: { status: 401, message: 'Authentication required' },
  forbidden: { status: 403, message: 'You are not allowed to do this' },
  not_found: { status: 404, message: 'Not found' },
  method_not_allowed: { status: 405, message: 'Method not allowed' },
  conflict: { status: 409, message: 'Conflict' },
  payload_too_large: { status: 413, message: 'Request body is too large' },
  unsupported_media_type: { status: 415, message: 'Request body must be application/json' },
  queue_full: { status: 429, message: 'The task queue is full; retry later' },
  rate_limited: { status: 429, message: 'Too many requests; retry later' },
  internal: { status: 500, message: 'Internal server error' },
  upstream_error: { status: 502, message: 'The upstream service failed' },
  unavailable: { status: 503, message: 'A dependency is unavailable right now' },
  upstream_timeout: { status: 504, message: 'The upstream service did not answer in time' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof errorCatalogue;

export class HttpError extends Error {
  override name = 'HttpError';
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: unknown;
  readonly headers: Readonly<Record<string, string>>;

  constructor(code: ErrorCode, message?: string, options: { details?: unknown; cause?: unknown; headers?: Record<string, string> } = {}) {
    super(message ?? errorCatalogue[code].message, { cause: options.cause });
    this.code = code;
    this.status = errorCatalogue[code].status;
    this.details = options.details;
    this.headers = options.headers ?? {};
  }
}

/** The contract's error body; used for every 4xx/5xx response and in OpenAPI. */
export const ErrorBody = Type.Object(
  {
    error: Type.Object({
      code: Type.String({ examples: ['not_found'] }),
      message: Type.String(),
      details: Type.Optional(
        Type.Unknown({
          description:
            'For 400 invalid_request: every offending field, at most 100, as `[{"field", "message"}]`. ' +
            '`field` is a dot-separated path from the request part (`body`, `querystring`, `params`); array entries are ' +
            'numbered from 0: `body.name`, `body.set.score`, `body.3.name` (the fourth entry of a bulk body), ' +
            '`querystring.limit`, `params.id`; `body` alone for the body as a whole. Other codes may carry other details ' +
            '(e.g. `{"reason"}` for 502, `{"missing"}` for a bulk 404).',
        }),
      ),
    }),
    request_id: Type.String(),
  },
  { description: 'Every failure, whatever the endpoint' },
);
export type ErrorBody = Static<typeof ErrorBody>;

/** Response-schema entries for the error statuses a route can answer. */
export function errorResponses(...statuses: number[]): Record<number, typeof ErrorBody> {
  return Object.fromEntries(statuses.map((s) => [s, ErrorBody]));
}
