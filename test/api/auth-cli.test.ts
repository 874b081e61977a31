/**
 * The account verbs as real child processes against this file's database: embedded mode
 * reaches it through the running test's socket (found from DATA_DIR), postgres mode by URL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findUserByUsername } from '../../src/modules/accounts/repository.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { cli } from '../helpers/processes.ts';

let t: TestApp;
let env: Record<string, string>;
const TOKEN_CACHE_MS = 300;

beforeAll(async () => {
  // A revocation by another process (the CLI) reaches a running server within TOKEN_CACHE_MS.
  t = await createTestApp({ TOKEN_CACHE_MS: String(TOKEN_CACHE_MS) });
  env = { NODE_ENV: 'test', LOG_LEVEL: 'warn', DATA_DIR: t.config.dataDir, DATABASE_URL: t.mode === 'postgres' ? t.url : '', REDIS_URL: '' };
});
afterAll(async () => { await t?.close(); });

const password = 'a long enough password';
const name = (base: string) => `${base}${Date.now().toString(36)}`;
const login = (username: string, pw: string) => t.app.inject({ method: 'POST', url: '/api/auth/login', payload: { username, password: pw } });

describe('conveyor createuser', () => {
  it('creates a user whose password, read from stdin, logs in — and never echoes it', async () => {
    const username = name('bob');
    const res = await cli(['createuser', username, '--password-stdin'], env, `${password}\n`);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout + res.stderr).not.toContain(password);
    const row = await findUserByUsername(t.data.database.db, username);
    expect(row).toMatchObject({ username, isStaff: false });
    expect(row!.passwordHash).toMatch(/^scrypt\$/);
    expect((await login(username, password)).statusCode).toBe(200);
  });

  it('creates staff with --staff', async () => {
    const username = name('ada');
    expect((await cli(['createuser', username, '--staff', '--password-stdin'], env, password)).code).toBe(0);
    expect((await findUserByUsername(t.data.database.db, username))!.isStaff).toBe(true);
  });

  it('fails with a clear message and exit 1 on a taken name (any case), a short password or no terminal', async () => {
    const username = name('eve');
    expect((await cli(['createuser', username, '--password-stdin'], env, password)).code).toBe(0);
    const taken = await cli(['createuser', username.toUpperCase(), '--password-stdin'], env, password);
    expect([taken.code, taken.stderr]).toEqual([1, 'conveyor: that username is already taken\n']);
    const short = await cli(['createuser', name('sam'), '--password-stdin'], env, 'short');
    expect(short.code).toBe(1);
    expect(short.stderr).toMatch(/at least 8 characters/);
    const noTty = await cli(['createuser', name('tim')], env, password);
    expect(noTty.code).toBe(1);
    expect(noTty.stderr).toMatch(/--password-stdin/);
  });
});

describe('conveyor createtoken / revoketoken', () => {
  it('prints a working token once; revoking it by prefix shuts it out', async () => {
    const username = name('tok');
    expect((await cli(['createuser', username, '--password-stdin'], env, password)).code).toBe(0);
    const created = await cli(['createtoken', username, '--label', 'ci'], env);
    expect(created.code, created.stderr).toBe(0);
    const token = created.stdout.trim();
    expect(token).toMatch(/^cvt_[\w-]{43}$/);
    const headers = { authorization: `Bearer ${token}` };
    expect((await t.app.inject({ url: '/api/auth/me', headers })).json().user.username).toBe(username);

    const revoked = await cli(['revoketoken', token.slice(0, 12)], env);
    expect(revoked.code, revoked.stderr).toBe(0);
    await new Promise((r) => setTimeout(r, TOKEN_CACHE_MS + 50));
    expect((await t.app.inject({ url: '/api/auth/me', headers })).statusCode).toBe(401);
    const again = await cli(['revoketoken', token.slice(0, 12)], env);
    expect(again.code).toBe(1);
  });

  it('refuses an unknown user', async () => {
    const res = await cli(['createtoken', name('ghost')], env);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/no user named/);
  });
});
