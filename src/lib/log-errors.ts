/**
 * Errors as log lines: what a reader needs to act (the driver's code, constraint, table and
 * column, the statement) and none of the request's data.
 *
 * Drizzle's DrizzleQueryError carries the statement's parameters three times: in `.params`,
 * in its message (`Failed query: …\nparams: …`) and so in its stack. pino's default error
 * serializer logs all three, and for a failed 10,000-row insert that is one line holding
 * every name. Here the parameters are never read; the statement is kept, truncated.
 *
 * PostgreSQL's `detail` can quote the row: `Key (name)=(alice) already exists`. The key's
 * columns are kept and its values replaced, so the line says which constraint and columns
 * clashed without saying with what. Data exceptions (SQLSTATE class 22) quote the offending
 * input in their message (`invalid input syntax for type bigint: "x"`): quoted text there is
 * replaced too.
 */
import { DrizzleQueryError } from 'drizzle-orm';

/** Longest statement text kept in a log line. */
export const MAX_STATEMENT = 1_000;
const MAX_DEPTH = 5;
const REDACTED = '[redacted]';

/** Fields of node-postgres' DatabaseError worth a log line. */
const PG_FIELDS = ['code', 'severity', 'detail', 'hint', 'schema', 'table', 'column', 'dataType', 'constraint', 'routine'] as const;
/** Own properties never copied from any error: they hold request data. */
const NEVER = new Set(['params', 'parameters', 'values', 'query', 'raw', 'cause', 'message', 'stack', 'errors']);

export interface SerializedError {
  type: string;
  message: string;
  stack?: string | undefined;
  /** The SQL of a failed statement, truncated to MAX_STATEMENT characters. */
  statement?: string;
  cause?: SerializedError | undefined;
  [field: string]: unknown;
}

const isErrorLike = (v: unknown): v is Error =>
  v instanceof Error || (typeof v === 'object' && v !== null && typeof (v as Error).message === 'string' && typeof (v as Error).stack === 'string');

const isPgError = (e: Error): e is Error & Record<(typeof PG_FIELDS)[number], unknown> =>
  typeof (e as { code?: unknown }).code === 'string' && 'severity' in e;

export function truncate(text: string, max = MAX_STATEMENT): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length} characters)`;
}

/** `Key (name, status)=(alice, active) already exists` → `Key (name, status)=([redacted]) already exists`. */
export function redactDetail(detail: string): string {
  return detail.replace(/\)=\((?:[^()]|\([^()]*\))*\)/g, `)=(${REDACTED})`).replace(/\bFailing row contains \(.*\)/s, `Failing row contains (${REDACTED})`);
}

function pgMessage(message: string, code: string): string {
  return code.startsWith('22') ? message.replace(/"[^"]*"/g, `"${REDACTED}"`) : message;
}

/** The stack without its first line(s), which repeat the message. */
function framesOnly(stack: string | undefined): string | undefined {
  if (!stack) return undefined;
  const at = stack.indexOf('\n    at ');
  return at === -1 ? undefined : stack.slice(at + 1);
}

function serialize(err: Error, depth: number): SerializedError {
  const type = err.constructor?.name && err.constructor.name !== 'Object' ? err.constructor.name : err.name;
  let out: SerializedError;
  if (err instanceof DrizzleQueryError) {
    out = { type, message: 'Failed query', statement: truncate(err.query), stack: framesOnly(err.stack) };
  } else if (isPgError(err)) {
    out = { type, message: pgMessage(err.message, String(err.code)), stack: framesOnly(err.stack) };
    for (const f of PG_FIELDS) {
      const v = err[f];
      if (v !== undefined && v !== null) out[f] = f === 'detail' ? redactDetail(String(v)) : v;
    }
  } else {
    out = { type, message: err.message, stack: err.stack };
    for (const key of Object.keys(err)) {
      const v = (err as unknown as Record<string, unknown>)[key];
      if (NEVER.has(key) || key in out) continue;
      if (v === null || ['string', 'number', 'boolean'].includes(typeof v)) out[key] = typeof v === 'string' ? truncate(v) : v;
    }
  }
  if (err.cause !== undefined && depth < MAX_DEPTH) {
    out.cause = isErrorLike(err.cause) ? serialize(err.cause, depth + 1) : { type: typeof err.cause, message: truncate(String(err.cause)) };
  }
  return out;
}

/** pino's `err` serializer: anything that is not an error passes through unchanged. */
export function serializeError(value: unknown): unknown {
  return isErrorLike(value) ? serialize(value, 0) : value;
}

/** One line for a warning: the messages along the cause chain, never a statement's parameters. */
export function errorSummary(value: unknown): string {
  const parts: string[] = [];
  for (let s = isErrorLike(value) ? serialize(value, 0) : undefined; s; s = s.cause) parts.push(s.message);
  return parts.length > 0 ? parts.join(': ') : truncate(String(value));
}
