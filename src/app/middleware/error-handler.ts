/**
 * Middleware 4 (the outermost): every failure becomes the contract's error body — an
 * HttpError as it is, a domain error through the error table, Fastify's own by its code.
 * 5xx details (stack, SQL) are logged, and shown only when DEBUG is on.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HttpError, type ErrorBody, type ErrorCode } from '../../http/errors.ts';
import { errorSummary } from '../../lib/log-errors.ts';
import { answerFor } from '../error-table.ts';
import { validationDetails } from '../validation-details.ts';

const fastifyCodes: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid_request',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_request',
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_request',
  FST_ERR_NOT_FOUND: 'not_found',
};

/** Classify any thrown value into an HttpError of the catalogue. */
export function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  const answer = answerFor(err);
  if (answer) return new HttpError(answer.code, answer.message ?? (err as Error).message, { details: answer.details, cause: err, ...(answer.headers ? { headers: { ...answer.headers } } : {}) });
  const fe = err as Partial<FastifyError> & Error;
  if (fe.validation) {
    return new HttpError('invalid_request', 'Request validation failed', { details: validationDetails(fe.validationContext ?? 'body', fe.validation) });
  }
  const mapped = fe.code ? fastifyCodes[fe.code] : undefined;
  if (mapped) return new HttpError(mapped, mapped === 'invalid_request' ? fe.message : undefined);
  const status = fe.statusCode ?? 500;
  if (status === 429) return new HttpError('rate_limited', undefined, { cause: err });
  if (status === 413) return new HttpError('payload_too_large');
  if (status === 415) return new HttpError('unsupported_media_type');
  if (status === 404) return new HttpError('not_found');
  if (status >= 400 && status < 500) return new HttpError('invalid_request', fe.message);
  return new HttpError('internal', undefined, { cause: err });
}

export function sendError(request: FastifyRequest, reply: FastifyReply, appErr: HttpError, debug: boolean) {
  const cause = appErr.cause;
  let details = appErr.details;
  if (appErr.status >= 500 && debug && cause instanceof Error) {
    details = { name: cause.name, message: cause.message, stack: cause.stack, ...('query' in cause ? { query: cause.query } : {}) };
  }
  const body: ErrorBody = {
    error: { code: appErr.code, message: appErr.message, ...(details === undefined ? {} : { details }) },
    request_id: request.id,
  };
  const retryAfter = (cause as { headers?: Record<string, string> } | undefined)?.headers?.['retry-after'];
  if (retryAfter) reply.header('retry-after', retryAfter);
  return reply.code(appErr.status).headers(appErr.headers).type('application/json; charset=utf-8').send(body);
}

export function errorHandler(app: FastifyInstance, opts: { debug: boolean }): void {
  app.setErrorHandler((err, request, reply) => {
    const appErr = toHttpError(err);
    if (appErr.status >= 500) request.log.error({ err }, appErr.code);
    else if (appErr.code === 'unavailable') request.log.warn({ err: errorSummary(err) }, 'dependency unavailable');
    return sendError(request, reply, appErr, opts.debug);
  });
  app.setNotFoundHandler((request, reply) =>
    sendError(request, reply, new HttpError('not_found', `No route ${request.method} ${request.url.split('?')[0]}`), opts.debug),
  );
}

