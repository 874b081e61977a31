/**
 * The two cookies of a browser session. `conveyor_session` is HttpOnly (scripts never see the
 * id); `conveyor_csrf` is readable by the dashboard's scripts, which echo it in `x-csrf-token`.
 * Both SameSite=Lax, and Secure when the request came over TLS (directly, or per a trusted
 * proxy's X-Forwarded-Proto — request.protocol reads it only when TRUST_PROXY is on).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CSRF_COOKIE } from './csrf.ts';
import { SESSION_COOKIE } from './sessions.ts';

// Both values are base64url, so neither parsing nor writing needs any cookie encoding.
function cookie(header: string, name: string): string | undefined {
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

function serialize(name: string, value: string, o: { maxAge: number; secure: boolean; httpOnly: boolean }): string {
  const attrs = [`${name}=${value}`, 'Path=/', `Max-Age=${o.maxAge}`, 'SameSite=Lax'];
  if (o.maxAge === 0) attrs.push('Expires=Thu, 01 Jan 1970 00:00:00 GMT');
  if (o.httpOnly) attrs.push('HttpOnly');
  if (o.secure) attrs.push('Secure');
  return attrs.join('; ');
}

export function readSessionCookie(request: FastifyRequest): string | undefined {
  const header = request.headers.cookie;
  return header ? cookie(header, SESSION_COOKIE) || undefined : undefined;
}

function appendSetCookie(reply: FastifyReply, cookies: string[]): void {
  const existing = reply.getHeader('set-cookie');
  const before = existing === undefined ? [] : Array.isArray(existing) ? existing : [String(existing)];
  reply.header('set-cookie', [...before, ...cookies]);
}

export function setSessionCookies(request: FastifyRequest, reply: FastifyReply, s: { id: string; csrf: string; maxAge: number }): void {
  const secure = request.protocol === 'https';
  appendSetCookie(reply, [
    serialize(SESSION_COOKIE, s.id, { maxAge: s.maxAge, secure, httpOnly: true }),
    serialize(CSRF_COOKIE, s.csrf, { maxAge: s.maxAge, secure, httpOnly: false }),
  ]);
}

export function clearSessionCookies(request: FastifyRequest, reply: FastifyReply): void {
  const secure = request.protocol === 'https';
  appendSetCookie(reply, [
    serialize(SESSION_COOKIE, '', { maxAge: 0, secure, httpOnly: true }),
    serialize(CSRF_COOKIE, '', { maxAge: 0, secure, httpOnly: false }),
  ]);
}
