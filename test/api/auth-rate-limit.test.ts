/** Login is rate-limited per client address and per username: 429 rate_limited with retry-after. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { makeUser } from '../helpers/auth.ts';

let t: TestApp;
beforeAll(async () => { t = await createTestApp({ LOGIN_RATE_PER_IP: '6', LOGIN_RATE_PER_USER: '3' }); });
afterAll(async () => { await t?.close(); });

const attempt = (username: string, password: string, remoteAddress: string) =>
  t.app.inject({ method: 'POST', url: '/api/auth/login', remoteAddress, payload: { username, password } });

describe('login rate limits', () => {
  it('stops guessing one username, from however many addresses, and says when to retry', async () => {
    const user = await makeUser(t);
    for (let i = 0; i < 3; i++) expect((await attempt(user.username, 'wrong password', `10.0.1.${i}`)).statusCode).toBe(401);
    const limited = await attempt(user.username, user.password, '10.0.1.99'); // even the right password
    expect(limited.statusCode).toBe(429);
    expect(limited.json().error.code).toBe('rate_limited');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(60);
    // The username is matched case-insensitively, like the login itself.
    expect((await attempt(user.username.toUpperCase(), user.password, '10.0.1.98')).statusCode).toBe(429);
  });

  it('stops one address trying many usernames', async () => {
    for (let i = 0; i < 6; i++) expect((await attempt(`nobody${i}_${Date.now()}`, 'wrong password', '10.0.2.1')).statusCode).toBe(401);
    const limited = await attempt(`nobody_last_${Date.now()}`, 'wrong password', '10.0.2.1');
    expect([limited.statusCode, limited.json().error.code]).toEqual([429, 'rate_limited']);
    expect(limited.headers['retry-after']).toBeDefined();
    // Another address is not affected.
    const user = await makeUser(t);
    expect((await attempt(user.username, user.password, '10.0.2.2')).statusCode).toBe(200);
  });
});
