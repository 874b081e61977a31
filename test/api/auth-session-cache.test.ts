/**
 * Sessions are remembered like tokens (SESSION_CACHE_MS), in caches each app owns: a logout
 * applies at once in the app that handled it and within the TTL in another (a second
 * buildApp on the same database stands in for another process); expiry is never extended.
 */
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type App } from '../../src/app/build-app.ts';
import type { Config } from '../../src/config/index.ts';
import { csrfToken } from '../../src/modules/accounts/csrf.ts';
import { resolveSecretKey } from '../../src/modules/accounts/secret-key.ts';
import { createToken } from '../../src/modules/accounts/service.ts';
import { startSession } from '../../src/modules/accounts/sessions.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { login, makeUser } from '../helpers/auth.ts';

let t: TestApp;
const others: App[] = [];
beforeAll(async () => { t = await createTestApp({ LOGIN_RATE_PER_IP: '10000', LOGIN_RATE_PER_USER: '10000' }); });
afterAll(async () => {
  for (const app of others) await app.close();
  await t?.close();
});

/** Another server process on the same database, as far as caches go. */
async function otherApp(overrides: Partial<Config>): Promise<App> {
  const app = await buildApp({ ...t.config, ...overrides }, { database: t.data.database, logger: pino({ level: 'silent' }) });
  await app.ready();
  others.push(app);
  return app;
}

const me = (app: App, headers: Record<string, string>) => app.inject({ url: '/api/auth/me', headers }).then((r) => r.json().user as { username: string } | null);
const write = (app: App, headers: Record<string, string>) =>
  app.inject({ method: 'POST', url: '/api/items', headers, payload: { name: `sc-${Date.now()}-${Math.random()}` } });

describe('session cache', () => {
  it('a logout applies at once in the app that handled it, to reads and writes', async () => {
    const user = await makeUser(t);
    const s = await login(t, user);
    expect((await write(t.app, s.headers)).statusCode).toBe(201); // now remembered
    expect((await me(t.app, s.cookie))?.username).toBe(user.username);
    expect((await t.app.inject({ method: 'POST', url: '/api/auth/logout', headers: s.headers })).statusCode).toBe(204);
    expect(await me(t.app, s.cookie)).toBeNull();
    expect((await write(t.app, s.headers)).statusCode).toBe(401);
  });

  it('a remembered session still needs its CSRF token on writes', async () => {
    const user = await makeUser(t);
    const s = await login(t, user);
    expect((await me(t.app, s.cookie))?.username).toBe(user.username);
    const res = await t.app.inject({ method: 'POST', url: '/api/items', headers: { ...s.cookie, 'x-csrf-token': 'forged' }, payload: { name: `csrf-${Date.now()}` } });
    expect([res.statusCode, res.json().error.code]).toEqual([403, 'forbidden']);
  });

  it('a logout through another app applies here within SESSION_CACHE_MS, not before', async () => {
    const short = await otherApp({ SESSION_CACHE_MS: 300 });
    const long = await otherApp({ SESSION_CACHE_MS: 600_000 });
    const user = await makeUser(t);
    const s = await login(t, user);
    expect((await me(short, s.cookie))?.username).toBe(user.username);
    expect((await me(long, s.cookie))?.username).toBe(user.username);
    expect((await t.app.inject({ method: 'POST', url: '/api/auth/logout', headers: s.headers })).statusCode).toBe(204);
    expect(await me(t.app, s.cookie)).toBeNull();
    // The documented bound: the other process may trust it for up to its TTL...
    expect((await me(long, s.cookie))?.username).toBe(user.username);
    // ...and no longer.
    await new Promise((r) => setTimeout(r, 350));
    expect(await me(short, s.cookie)).toBeNull();
    expect((await write(short, s.headers)).statusCode).toBe(401);
  });

  it('never trusts a session past its expiry, however long the cache', async () => {
    const long = await otherApp({ SESSION_CACHE_MS: 600_000 });
    const user = await makeUser(t);
    const session = await startSession(t.data.database.db, user.id, 1);
    const csrf = csrfToken(resolveSecretKey(t.config), session.id);
    const cookie = { cookie: `conveyor_session=${session.id}; conveyor_csrf=${csrf}` };
    expect((await me(long, cookie))?.username).toBe(user.username);
    await new Promise((r) => setTimeout(r, Math.max(0, session.expiresAt.getTime() - Date.now()) + 50));
    expect(await me(long, cookie)).toBeNull();
  });

  it('apps in one process share no cache: a token revoked elsewhere is refused by a new app at once', async () => {
    const user = await makeUser(t);
    const { token } = await createToken(t.data.database.db, user.username);
    const headers = { authorization: `Bearer ${token}` };
    expect((await t.app.inject({ url: '/api/auth/me', headers })).statusCode).toBe(200); // remembered by t.app
    // Revoked as the CLI does it, from another process: nothing here is told.
    await t.data.database.pool.query('UPDATE app.api_tokens SET revoked_at = now() WHERE prefix = $1', [token.slice(0, 12)]);
    const fresh = await otherApp({});
    expect((await fresh.inject({ url: '/api/auth/me', headers })).statusCode).toBe(401);
  });
});
