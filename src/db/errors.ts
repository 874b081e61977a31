/**
 * What a database failure means, told by the driver's codes and by where the failure came
 * from — never by its message text. PostgreSQL's SQLSTATE and Node's socket codes travel in
 * `code`, possibly a few causes down (Drizzle wraps driver errors in DrizzleQueryError).
 */

const MAX_DEPTH = 5;

/** The causes of `err`, itself first. */
function* causes(err: unknown): Generator<Error> {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < MAX_DEPTH; e = e.cause, depth++) yield e;
}

/** The first error along the cause chain that carries a driver code (SQLSTATE, or Node's `ECONNREFUSED`…). */
export function driverError(err: unknown): (Error & { code: string }) | undefined {
  for (const e of causes(err)) {
    if (typeof (e as { code?: unknown }).code === 'string') return e as Error & { code: string };
  }
  return undefined;
}

function violation(err: unknown, sqlstate: string): { constraint: string | undefined } | undefined {
  for (const e of causes(err)) {
    if ((e as { code?: unknown }).code !== sqlstate) continue;
    const constraint = (e as { constraint?: unknown }).constraint;
    return { constraint: typeof constraint === 'string' ? constraint : undefined };
  }
  return undefined;
}

/** A unique constraint refused the write (SQLSTATE 23505), and which one. */
export const uniqueViolation = (err: unknown) => violation(err, '23505');

/** A CHECK constraint refused the write (SQLSTATE 23514), and which one. */
export const checkViolation = (err: unknown) => violation(err, '23514');

/** No connection could be had from the pool: the server is down, unreachable, or every connection is busy past the wait. */
export class DatabaseUnavailableError extends Error {
  override name = 'DatabaseUnavailableError';
  constructor(cause: unknown) {
    super(`The database cannot be reached right now: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

/** Errors a connection reported about itself (pg's client `error` event): its link to the server is gone. */
const lostConnections = new WeakSet<Error>();

/** Recorded by the pool for each of its connections (src/db/client.ts). */
export function connectionLost(err: Error): void {
  lostConnections.add(err);
}

/**
 * Node's socket failures, and the server's own "not now": shutting down (57P01, 57P02),
 * starting up (57P03), out of connection slots (53300); class 08 is connection exceptions.
 */
const unavailableCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EHOSTUNREACH', 'ETIMEDOUT', 'EPIPE', 'ENOENT', '57P01', '57P02', '57P03', '53300']);

/** Whether an error means "the database cannot be reached right now" (503), as opposed to a bad query (500). */
export function isDatabaseUnavailable(err: unknown): boolean {
  for (const e of causes(err)) {
    if (e instanceof DatabaseUnavailableError || lostConnections.has(e)) return true;
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (unavailableCodes.has(code) || code.startsWith('08'))) return true;
  }
  return false;
}
