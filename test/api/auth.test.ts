/** Login, sessions, logout, /me, API tokens: the accounts contract and its protections. */
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app/build-app.ts';
import { hashPassword } from '../../src/modules/accounts/passwords.ts';
import { findUserByUsername, insertUser } from '../../src/modules/accounts/repository.ts';
import { createToken, revokeTokens } from '../../src/modules/accounts/service.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { cookieValue, login, makeUser } from '../helpers/auth.ts';

let t: TestApp;
// Every login here comes from one address; the limits have their own file (auth-rate-limit).
beforeAll(async () => { t = await createTestApp({ LOGIN_RATE_PER_IP: '10000', LOGIN_RATE_PER_USER: '10000' }); });
afterAll(async () => { await t?.close(); });

const me = (headers: Record<string, string> = {}) => t.app.inject({ url: '/api/auth/me', headers });

describe('POST /api/auth/login', () => {
  it('answers the user and sets an HttpOnly, SameSite=Lax session cookie and a readable CSRF cookie', async () => {
    const user = await makeUser(t);
    const res = await t.app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: user.username, password: user.password } });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.user).toMatchObject({ id: user.id, username: user.username, is_staff: false });
    expect(body.user.last_login_at).toEqual(expect.any(String));
    expect(body.csrf_token).toEqual(expect.any(String));
    const cookies = [res.headers['set-cookie']].flat() as string[];
    const session = cookies.find((c) => c.startsWith('conveyor_session='))!;
    const csrf = cookies.find((c) => c.startsWith('conveyor_csrf='))!;
    expect(session).toMatch(/; HttpOnly/);
    expect(session).toMatch(/; SameSite=Lax/);
    expect(session).toMatch(/; Path=\//);
    expect(session).toMatch(/; Max-Age=\d+/);
    expect(session).not.toMatch(/Secure/); // plain HTTP, no trusted proxy
    expect(csrf).not.toMatch(/HttpOnly/);
    expect(cookieValue(csrf, 'conveyor_csrf')).toBe(body.csrf_token);
  });

  it('matches usernames case-insensitively', async () => {
    const user = await makeUser(t);
    await expect(login(t, { username: user.username.toUpperCase(), password: user.password })).resolves.toBeDefined();
  });

  it('answers 401 with the same body for a wrong password and an unknown user', async () => {
    const user = await makeUser(t);
    const wrong = await t.app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: user.username, password: 'not the password' } });
    const unknown = await t.app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: `${user.username}_nobody`, password: 'not the password' } });
    expect(wrong.statusCode).toBe(401);
    expect(unknown.statusCode).toBe(401);
    expect(wrong.json().error).toEqual(unknown.json().error);
    expect(wrong.headers['set-cookie']).toBeUndefined();
  });

  it('answers 400 for a malformed body', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: 'x' } });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('invalid_request');
  });

  it('upgrades a hash made with weaker scrypt parameters', async () => {
    const username = `weak${Date.now()}`;
    await insertUser(t.data.database.db, { username, passwordHash: await hashPassword('weak password 1', { N: 2 ** 12, r: 8, p: 1 }), isStaff: false });
    await login(t, { username, password: 'weak password 1' });
    const row = await findUserByUsername(t.data.database.db, username);
    expect(row!.passwordHash.split('$')[1]).toBe(String(2 ** 17));
    await login(t, { username, password: 'weak password 1' }); // and the new hash verifies
  });

  it('refuses a cross-site login (login CSRF) but accepts same-origin and non-browser clients', async () => {
    const user = await makeUser(t);
    const payload = { username: user.username, password: user.password };
    for (const headers of [{ origin: 'https://evil.example' }, { 'sec-fetch-site': 'cross-site' }, { 'sec-fetch-site': 'same-site' }, { origin: 'null' }]) {
      const res = await t.app.inject({ method: 'POST', url: '/api/auth/login', headers, payload });
      expect(res.statusCode, JSON.stringify(headers)).toBe(403);
    }
    await login(t, user, { host: 'conveyor.test', origin: 'http://conveyor.test', 'sec-fetch-site': 'same-origin' });
    await login(t, user); // curl: neither header
  });
});

describe('sessions', () => {
  it('GET /api/auth/me is {user: null} for an anonymous visitor and the user for a session or a token', async () => {
    expect((await me()).json()).toEqual({ user: null });
    const user = await makeUser(t);
    const s = await login(t, user);
    const bySession = (await me(s.cookie)).json();
    expect(bySession.user).toMatchObject({ username: user.username });
    expect(bySession.csrf_token).toBe(s.csrf);
    const { token } = await createToken(t.data.database.db, user.username);
    const byToken = (await me({ authorization: `Bearer ${token}` })).json();
    expect(byToken.user).toMatchObject({ username: user.username });
    expect(byToken.csrf_token).toBeUndefined();
  });

  it('issues a new session id at every login and ends the one the client came with (no fixation)', async () => {
    const user = await makeUser(t);
    const first = await login(t, user);
    const second = await login(t, user, first.cookie);
    expect(second.id).not.toBe(first.id);
    expect((await me(first.cookie)).json().user).toBeNull();
    expect((await me(second.cookie)).json().user).toMatchObject({ username: user.username });
  });

  it('never adopts a session id chosen by the client', async () => {
    const user = await makeUser(t);
    const planted = 'A'.repeat(43);
    const s = await login(t, user, { cookie: `conveyor_session=${planted}` });
    expect(s.id).not.toBe(planted);
    expect((await me({ cookie: `conveyor_session=${planted}` })).json().user).toBeNull();
  });

  it('logout ends the session: 204, cookies cleared, the old cookie is anonymous and cannot write', async () => {
    const user = await makeUser(t);
    const s = await login(t, user);
    const out = await t.app.inject({ method: 'POST', url: '/api/auth/logout', headers: s.headers });
    expect(out.statusCode).toBe(204);
    const cleared = [out.headers['set-cookie']].flat() as string[];
    expect(cleared.find((c) => c.startsWith('conveyor_session='))).toMatch(/^conveyor_session=;.*Max-Age=0/);
    expect((await me(s.cookie)).json()).toEqual({ user: null });
    const write = await t.app.inject({ method: 'POST', url: '/api/items', headers: s.headers, payload: { name: `after-logout-${Date.now()}` } });
    expect(write.statusCode).toBe(401);
  });

  it('logout without a session is still 204', async () => {
    expect((await t.app.inject({ method: 'POST', url: '/api/auth/logout' })).statusCode).toBe(204);
  });

  it('an expired session is anonymous', async () => {
    const user = await makeUser(t);
    const s = await login(t, user);
    await t.data.database.pool.query(`UPDATE app.sessions SET expires_at = now() - interval '1 second' WHERE user_id = $1`, [user.id]);
    expect((await me(s.cookie)).json()).toEqual({ user: null });
  });

  it('purges expired sessions when someone logs in', async () => {
    const user = await makeUser(t);
    await login(t, user);
    await t.data.database.pool.query(`UPDATE app.sessions SET expires_at = now() - interval '1 second' WHERE user_id = $1`, [user.id]);
    await login(t, await makeUser(t));
    const { rows } = await t.data.database.pool.query('SELECT count(*)::int AS n FROM app.sessions WHERE expires_at <= now()');
    expect(rows[0].n).toBe(0);
  });

  it('stores only a hash of the session id', async () => {
    const user = await makeUser(t);
    const s = await login(t, user);
    const { rows } = await t.data.database.pool.query<{ id_hash: string }>('SELECT id_hash FROM app.sessions WHERE user_id = $1', [user.id]);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.id_hash).not.toContain(s.id);
    expect(rows[0]!.id_hash).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('API tokens', () => {
  it('a token works wherever a session does, until it is revoked', async () => {
    const user = await makeUser(t);
    const { token } = await createToken(t.data.database.db, user.username, 'ci');
    const headers = { authorization: `Bearer ${token}` };
    const create = await t.app.inject({ method: 'POST', url: '/api/items', headers, payload: { name: `token-item-${Date.now()}` } });
    expect(create.statusCode).toBe(201);
    // Again, now answered from the token cache, with the scheme in any case.
    const again = await t.app.inject({ method: 'POST', url: '/api/items', headers: { authorization: `bearer ${token}` }, payload: { name: `token-item-2-${Date.now()}` } });
    expect(again.statusCode).toBe(201);
    const { rows } = await t.data.database.pool.query<{ token_hash: string; last_used_at: Date | null }>(
      'SELECT token_hash, last_used_at FROM app.api_tokens WHERE prefix = $1', [token.slice(0, 12)],
    );
    expect(rows[0]!.token_hash).not.toContain(token);
    expect(rows[0]!.last_used_at).toBeInstanceOf(Date);
    expect(await revokeTokens(t.data.database.db, token.slice(0, 12))).toBe(1);
    // This app remembers the token for TOKEN_CACHE_MS (auth-cli.test.ts waits that out); a
    // server that has not seen it yet refuses it at once.
    const fresh = await buildApp(t.config, { database: t.data.database, logger: pino({ level: 'silent' }) });
    try {
      const after = await fresh.inject({ url: '/api/auth/me', headers });
      expect(after.statusCode).toBe(401);
      expect(after.json().error.code).toBe('unauthenticated');
    } finally {
      await fresh.close();
    }
  });

  it('a malformed Authorization header is 401, not anonymous', async () => {
    for (const authorization of ['Basic abc', 'Bearer', 'Bearer cvt_nope', 'Bearer not-a-token']) {
      expect((await me({ authorization })).statusCode, authorization).toBe(401);
    }
  });
});
