/**
 * CSRF defences for cookie sessions.
 * - Unsafe requests carry `x-csrf-token`: an HMAC of the session id under SECRET_KEY. A page
 *   on another site cannot read it (the `conveyor_csrf` cookie is same-origin) nor compute it,
 *   and it is bound to one session, so a token from another session is worthless.
 * - Login has no session yet, so it checks where the request comes from (Sec-Fetch-Site, Origin)
 *   to stop a hostile page logging the victim into the attacker's account.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';

export const CSRF_COOKIE = 'conveyor_csrf';
export const CSRF_HEADER = 'x-csrf-token';
export const UNSAFE_METHODS: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export function csrfToken(secret: Buffer, sessionId: string): string {
  return createHmac('sha256', secret).update(`csrf:${sessionId}`).digest('base64url');
}

/** Compare a sent token with the expected one (kept by the session cache), in constant time. */
export function csrfMatches(expected: Buffer, sent: string | string[] | undefined): boolean {
  if (typeof sent !== 'string') return false;
  const given = Buffer.from(sent);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * Whether a request was sent by this origin's pages or by a non-browser client (curl sends
 * neither header). Browsers send Sec-Fetch-Site on every request and Origin on every POST.
 */
export function sameOriginOrDirect(request: FastifyRequest): boolean {
  const site = request.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return false;
  const origin = request.headers.origin;
  if (origin === undefined) return true;
  try {
    // request.host honours X-Forwarded-Host only when TRUST_PROXY is on.
    return new URL(origin).host === request.host;
  } catch {
    return false; // "null" (sandboxed frames, file://) and garbage
  }
}
