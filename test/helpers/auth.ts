/** Users and browser-style sessions for tests: create a user, log in, reuse the cookies. */
import { createUser } from '../../src/modules/accounts/service.ts';
import type { TestApp } from './app.ts';

export const PASSWORD = 'correct horse battery staple';
let n = 0;

export async function makeUser(t: TestApp, opts: { staff?: boolean; password?: string } = {}): Promise<{ id: number; username: string; password: string }> {
  const username = `u${process.pid}_${++n}_${Date.now().toString(36)}`;
  const password = opts.password ?? PASSWORD;
  const row = await createUser(t.data.database.db, { username, password, isStaff: opts.staff ?? false });
  return { id: row.id, username, password };
}

export interface Session {
  /** The session id from Set-Cookie. */
  readonly id: string;
  readonly csrf: string;
  /** `cookie` alone: what a cross-site form would send. */
  readonly cookie: Record<string, string>;
  /** `cookie` and `x-csrf-token`: what the dashboard sends. */
  readonly headers: Record<string, string>;
}

export function cookieValue(setCookie: string | string[] | undefined, name: string): string | undefined {
  for (const c of [setCookie ?? []].flat()) {
    const [pair] = c.split(';');
    const [k, v] = pair!.split('=');
    if (k?.trim() === name) return v;
  }
  return undefined;
}

export async function login(t: TestApp, user: { username: string; password: string }, extraHeaders: Record<string, string> = {}): Promise<Session> {
  const res = await t.app.inject({ method: 'POST', url: '/api/auth/login', headers: extraHeaders, payload: { username: user.username, password: user.password } });
  if (res.statusCode !== 200) throw new Error(`login failed: ${res.statusCode} ${res.body}`);
  const id = cookieValue(res.headers['set-cookie'], 'conveyor_session')!;
  const csrf = res.json<{ csrf_token: string }>().csrf_token;
  const cookie = { cookie: `conveyor_session=${id}; conveyor_csrf=${csrf}` };
  return { id, csrf, cookie, headers: { ...cookie, 'x-csrf-token': csrf } };
}
