/**
 * The security baseline, each check able to fail without its protection: writes closed to
 * anonymous callers (every write route the app has), staff-only pages, CSRF on cookie
 * sessions, Secure cookies behind a trusted proxy, security headers and CSP, body limits,
 * JSON only, and no secret in the logs.
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import Fastify from 'fastify';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app/build-app.ts';
import { redactPaths } from '../../src/lib/logger.ts';
import { registerMiddleware } from '../../src/app/middleware.ts';
import { csrfToken } from '../../src/modules/accounts/csrf.ts';
import { requireStaff } from '../../src/modules/accounts/guards.ts';
import { resolveSecretKey } from '../../src/modules/accounts/secret-key.ts';
import { createToken } from '../../src/modules/accounts/service.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { fakeMonitor } from '../helpers/fake-monitor.ts';
import { login, makeUser, PASSWORD } from '../helpers/auth.ts';
import { fillParams, listRoutes, WRITE_METHODS } from '../helpers/routes.ts';

let t: TestApp;
// Every login here comes from one address; the limits have their own file (auth-rate-limit).
beforeAll(async () => { t = await createTestApp({ LOGIN_RATE_PER_IP: '10000', LOGIN_RATE_PER_USER: '10000' }); });
afterAll(async () => { await t?.close(); });

const bearer = async (username: string) => ({ authorization: `Bearer ${(await createToken(t.data.database.db, username)).token}` });

describe('writes need a user', () => {
  it('answers 401 to an anonymous call of every write route under /api (login and logout aside)', async () => {
    const writes = listRoutes(t.app).filter((r) => WRITE_METHODS.has(r.method) && r.url.startsWith('/api/') && !/^\/api\/auth\/(login|logout)$/.test(r.url));
    // The seed's write routes must be among them, or the route listing itself is broken.
    expect(writes.map((r) => `${r.method} ${r.url}`)).toContain('POST /api/items');
    for (const route of writes) {
      for (const body of [{}, { name: 'x' }]) {
        const res = await t.app.inject({ method: route.method, url: fillParams(route.url, '1'), payload: body });
        expect(res.statusCode, `${route.method} ${route.url}`).toBe(401);
        expect(res.json().error.code).toBe('unauthenticated');
      }
    }
  });

  it('answers 401, not 413/415/400, before reading an anonymous body', async () => {
    const huge = await t.app.inject({ method: 'POST', url: '/api/items', headers: { 'content-type': 'application/json' }, payload: 'x'.repeat(t.config.BODY_LIMIT + 10) });
    expect(huge.statusCode).toBe(401);
    const text = await t.app.inject({ method: 'POST', url: '/api/items', headers: { 'content-type': 'text/plain' }, payload: 'hello' });
    expect(text.statusCode).toBe(401);
  });
});

describe('staff only', () => {
  it('the dashboard (when mounted) answers 403 to a signed-in non-staff user, and CSRF guards its actions', async (ctx) => {
    // The dashboard mounts only with a task monitor; a fake one is enough for pages and guards.
    const dash = await buildApp(t.config, { database: t.data.database, logger: pino({ level: 'silent' }), monitor: fakeMonitor() });
    try {
      if (!dash.hasRoute({ method: 'GET', url: '/dashboard' })) return ctx.skip();
      const plain = await login(t, await makeUser(t));
      const staff = await login(t, await makeUser(t, { staff: true }));
      expect((await dash.inject({ url: '/dashboard', headers: plain.cookie })).statusCode).toBe(403);
      expect((await dash.inject({ url: '/dashboard', headers: await bearer((await makeUser(t)).username) })).statusCode).toBe(403);
      const page = await dash.inject({ url: '/dashboard', headers: staff.cookie });
      expect(page.statusCode).toBe(200);
      // Our CSP holds on the dashboard: its page must need no inline script or style.
      expect(String(page.headers['content-security-policy'])).toContain("script-src 'self'");
      expect(page.body).not.toMatch(/<script>(?!<\/script>)|<script(?![^>]*\bsrc=)[^>]*>\s*\S|\sstyle="|\son[a-z]+="/i);
      for (const m of page.body.matchAll(/<(?:script|link)\b[^>]*\b(?:src|href)="(\/[^"]+)"/g)) {
        expect((await dash.inject({ url: m[1]!, headers: staff.cookie })).statusCode, m[1]).toBe(200);
      }
      if (dash.hasRoute({ method: 'POST', url: '/dashboard/api/tasks/:id/revoke' })) {
        const forged = await dash.inject({ method: 'POST', url: '/dashboard/api/tasks/x/revoke', headers: staff.cookie });
        expect([forged.statusCode, forged.json().error.code]).toEqual([403, 'forbidden']);
        const byPlain = await dash.inject({ method: 'POST', url: '/dashboard/api/tasks/x/revoke', headers: plain.headers });
        expect(byPlain.statusCode).toBe(403);
      }
    } finally {
      await dash.close();
    }
  });

  it('requireStaff: 401 anonymous, 403 non-staff, 200 staff, behind the real middleware', async () => {
    const app = Fastify();
    registerMiddleware(app, t.config, { database: t.data.database });
    app.get('/staff-only', { preHandler: requireStaff }, async () => ({ ok: true }));
    await app.ready();
    const staff = await makeUser(t, { staff: true });
    const plain = await makeUser(t);
    expect((await app.inject({ url: '/staff-only' })).statusCode).toBe(401);
    const forbidden = await app.inject({ url: '/staff-only', headers: await bearer(plain.username) });
    expect([forbidden.statusCode, forbidden.json().error.code]).toEqual([403, 'forbidden']);
    expect((await app.inject({ url: '/staff-only', headers: await bearer(staff.username) })).statusCode).toBe(200);
    await app.close();
  });
});

describe('CSRF', () => {
  const item = () => ({ name: `csrf-${Date.now()}-${Math.random()}` });

  it('refuses a cookie-authenticated write without the token, or with another session\'s token', async () => {
    const user = await makeUser(t);
    const mine = await login(t, user);
    const other = await login(t, await makeUser(t));
    const none = await t.app.inject({ method: 'POST', url: '/api/items', headers: mine.cookie, payload: item() });
    expect([none.statusCode, none.json().error.code]).toEqual([403, 'forbidden']);
    const foreign = await t.app.inject({ method: 'POST', url: '/api/items', headers: { ...mine.cookie, 'x-csrf-token': other.csrf }, payload: item() });
    expect(foreign.statusCode).toBe(403);
    const garbage = await t.app.inject({ method: 'POST', url: '/api/items', headers: { ...mine.cookie, 'x-csrf-token': 'x' }, payload: item() });
    expect(garbage.statusCode).toBe(403);
  });

  it('accepts a cookie-authenticated write with its token', async () => {
    const s = await login(t, await makeUser(t));
    const res = await t.app.inject({ method: 'POST', url: '/api/items', headers: s.headers, payload: item() });
    expect(res.statusCode).toBe(201);
  });

  it('exempts token-authenticated calls', async () => {
    const user = await makeUser(t);
    const res = await t.app.inject({ method: 'POST', url: '/api/items', headers: await bearer(user.username), payload: item() });
    expect(res.statusCode).toBe(201);
  });

  it('protects logout too: a cross-site logout leaves the session alive', async () => {
    const s = await login(t, await makeUser(t));
    expect((await t.app.inject({ method: 'POST', url: '/api/auth/logout', headers: s.cookie })).statusCode).toBe(403);
    expect((await t.app.inject({ url: '/api/auth/me', headers: s.cookie })).json().user).not.toBeNull();
  });
});

describe('cookies behind a proxy', () => {
  it('marks cookies Secure only when X-Forwarded-Proto is https and the proxy is trusted', async () => {
    const user = await makeUser(t);
    const payload = { username: user.username, password: PASSWORD };
    const forwarded = { 'x-forwarded-proto': 'https' };
    const untrusted = await t.app.inject({ method: 'POST', url: '/api/auth/login', headers: forwarded, payload });
    expect(String(untrusted.headers['set-cookie'])).not.toMatch(/Secure/);

    const proxied = await buildApp({ ...t.config, TRUST_PROXY: true }, { database: t.data.database, logger: pino({ level: 'silent' }) });
    const tls = await proxied.inject({ method: 'POST', url: '/api/auth/login', headers: forwarded, payload });
    const cookies = [tls.headers['set-cookie']].flat() as string[];
    expect(cookies).toHaveLength(2);
    for (const c of cookies) expect(c).toMatch(/; Secure/);
    const plain = await proxied.inject({ method: 'POST', url: '/api/auth/login', headers: { 'x-forwarded-proto': 'http' }, payload });
    expect(String(plain.headers['set-cookie'])).not.toMatch(/Secure/);
    await proxied.close();
  });
});

describe('security headers', () => {
  it('sends a strict same-origin CSP and helmet\'s headers on pages and page 404s', async () => {
    for (const req of [{ url: '/nope' }, { url: '/dashboard' }]) {
      const res = await t.app.inject(req);
      const csp = String(res.headers['content-security-policy']);
      expect(csp, req.url).toContain("default-src 'self'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("style-src 'self'");
      expect(csp).toContain("img-src 'self' data:");
      expect(csp).toContain("connect-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toContain('unsafe-inline');
      expect(csp).not.toContain('upgrade-insecure-requests');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['x-frame-options']).toBe('SAMEORIGIN');
      expect(res.headers['referrer-policy']).toBe('no-referrer');
      expect(res.headers['cross-origin-opener-policy']).toBe('same-origin');
    }
  });

  it('sends the API set on every /api answer, errors included: a CSP that allows nothing, no document-only headers', async () => {
    for (const req of [{ url: '/api/auth/me' }, { url: '/api/nope' }, { method: 'POST' as const, url: '/api/items', payload: {} }, { url: '/api/items/count' }]) {
      const res = await t.app.inject(req);
      expect(res.headers['content-security-policy'], req.url).toBe("default-src 'none';frame-ancestors 'none'");
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['x-frame-options']).toBe('DENY');
      expect(res.headers['referrer-policy']).toBe('no-referrer');
      expect(res.headers['strict-transport-security']).toMatch(/max-age=\d+/);
      expect(res.headers['cross-origin-resource-policy']).toBe('same-origin');
      for (const h of ['cross-origin-opener-policy', 'origin-agent-cluster', 'x-dns-prefetch-control', 'x-download-options', 'x-xss-protection']) {
        expect(res.headers[h], h).toBeUndefined();
      }
    }
  });

  it('keeps /docs working with local assets only', async () => {
    const page = await t.app.inject({ url: '/docs/' });
    expect(page.statusCode).toBe(200);
    // swagger-ui's own CSP replaces ours on its pages: scripts from 'self' only, no inline code.
    expect(String(page.headers['content-security-policy'])).toMatch(/script-src 'self'/);
    expect(String(page.headers['content-security-policy'])).not.toContain('unsafe-inline');
    // Served over plain HTTP by a compose deployment: nothing may force https or name an internet source.
    expect(String(page.headers['content-security-policy'])).not.toMatch(/upgrade-insecure-requests|https:|swagger\.io/);
    const assets = [...page.body.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(assets.length).toBeGreaterThan(2);
    for (const src of assets) {
      expect(src, 'no asset from the internet').not.toMatch(/^(https?:)?\/\//);
      expect((await t.app.inject({ url: new URL(src, 'http://x/docs/').pathname })).statusCode, src).toBe(200);
    }
    const bundle = await t.app.inject({ url: '/docs/static/swagger-ui-bundle.js' });
    expect(bundle.statusCode).toBe(200);
    expect((await t.app.inject({ url: '/docs/json' })).statusCode).toBe(200);
  });
});

describe('bodies', () => {
  it('answers 413 over BODY_LIMIT and 415 for anything but JSON', async () => {
    const user = await makeUser(t);
    const headers = await bearer(user.username);
    const big = await t.app.inject({ method: 'POST', url: '/api/items', headers: { ...headers, 'content-type': 'application/json' }, payload: JSON.stringify({ name: 'x', description: 'y'.repeat(t.config.BODY_LIMIT) }) });
    expect([big.statusCode, big.json().error.code]).toEqual([413, 'payload_too_large']);
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml']) {
      const res = await t.app.inject({ method: 'POST', url: '/api/items', headers: { ...headers, 'content-type': type }, payload: 'name=x' });
      expect([res.statusCode, res.json().error.code], type).toEqual([415, 'unsupported_media_type']);
    }
    const login = await t.app.inject({ method: 'POST', url: '/api/auth/login', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'username=a&password=b' });
    expect(login.statusCode).toBe(415);
    const bigLogin = await t.app.inject({ method: 'POST', url: '/api/auth/login', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ username: 'a', password: 'p'.repeat(t.config.BODY_LIMIT) }) });
    expect(bigLogin.statusCode).toBe(413);
  });
});

describe('numbers', () => {
  it('answers 400, not 500, to Infinity or an overflowing number in a path or query string', async () => {
    const user = await makeUser(t);
    const headers = await bearer(user.username);
    for (const url of ['/api/items/Infinity', '/api/items/1e309', '/api/items?after=1e999', '/api/items?limit=-Infinity']) {
      const res = await t.app.inject({ url, headers });
      expect([res.statusCode, res.json().error.code], url).toEqual([400, 'invalid_request']);
    }
    const patch = await t.app.inject({ method: 'PATCH', url: '/api/items/Infinity', headers, payload: { score: 1 } });
    expect(patch.statusCode).toBe(400);
  });
});

describe('logs', () => {
  function capture() {
    const lines: string[] = [];
    const stream = new Writable({ write(chunk: Buffer, _enc, cb) { lines.push(chunk.toString()); cb(); } });
    const logger = pino({ level: 'trace', redact: { paths: redactPaths, censor: '[redacted]' } }, stream);
    return { logger, text: () => lines.join('') };
  }

  it('scrubs passwords, tokens and cookies from what the logger is handed', () => {
    const { logger, text } = capture();
    logger.info({ req: { headers: { authorization: 'Bearer cvt_SECRET1', cookie: 'conveyor_session=SECRET2' } }, password: 'SECRET3', token: 'SECRET4' }, 'x');
    logger.info({ body: { password: 'SECRET5', token: 'SECRET6' }, headers: { authorization: 'SECRET7', cookie: 'SECRET8' } }, 'y');
    expect(text()).not.toMatch(/SECRET\d/);
    expect(text()).toContain('[redacted]');
  });

  it('writes no password, token, session id or CSRF token during real requests, failures included', async () => {
    const { logger, text } = capture();
    const app = await buildApp(t.config, { database: t.data.database, logger });
    const user = await makeUser(t);
    const { token } = await createToken(t.data.database.db, user.username);
    const res = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: user.username, password: PASSWORD } });
    const session = /conveyor_session=([^;]+)/.exec(String(res.headers['set-cookie']))![1]!;
    const csrf = res.json().csrf_token as string;
    await app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: user.username, password: `${PASSWORD}-wrong` } });
    await app.inject({ url: '/api/auth/me', headers: { authorization: `Bearer ${token}` } });
    await app.inject({ url: '/api/auth/me', headers: { authorization: `Bearer ${token}x` } });
    await app.inject({ method: 'POST', url: '/api/items', headers: { cookie: `conveyor_session=${session}` }, payload: { name: 'x' } });
    await app.inject({ method: 'POST', url: '/api/items', headers: { cookie: `conveyor_session=${session}`, 'x-csrf-token': csrf }, payload: { name: `log-${Date.now()}` } });
    await app.close();
    const out = text();
    expect(out).toContain('"request"'); // the access log did write
    expect(out).toMatch(/"request_id":"[^"]+","method":"POST","route":"\/api\/items"/);
    for (const secret of [PASSWORD, token, session, csrf]) expect(out).not.toContain(secret);
  });

  it('binds request.log lines to the request id, redacted, though the child logger is made only on first use', async () => {
    const { logger, text } = capture();
    const app = await buildApp(t.config, { database: t.data.database, logger });
    app.get('/test/log', (request) => {
      request.log.info({ password: 'SECRET9' }, 'from a handler');
      request.log.child({ step: 'inner' }).warn({ token: 'SECRET10' }, 'from a child');
      return { level: request.log.level };
    });
    const res = await app.inject({ url: '/test/log', headers: { 'x-request-id': 'lazy-log-1' } });
    await app.close();
    expect(res.json()).toEqual({ level: 'trace' });
    const lines = text().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const mine = lines.filter((l) => l.msg === 'from a handler' || l.msg === 'from a child');
    expect(mine.map((l) => [l.request_id, l.msg, l.step])).toEqual([['lazy-log-1', 'from a handler', undefined], ['lazy-log-1', 'from a child', 'inner']]);
    expect(text()).not.toMatch(/SECRET\d/);
  });
});

describe('the signing key', () => {
  it('uses SECRET_KEY when set; otherwise generates one into DATA_DIR (0600) once and reuses it', () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'conveyor-secret-'));
    try {
      const given = 'k'.repeat(40);
      expect(resolveSecretKey({ SECRET_KEY: given, dataDir }).toString()).toBe(given);
      const first = resolveSecretKey({ SECRET_KEY: undefined, dataDir });
      const file = path.join(dataDir, 'secret_key');
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(first.length).toBeGreaterThanOrEqual(32);
      expect(resolveSecretKey({ SECRET_KEY: undefined, dataDir }).equals(first)).toBe(true);
      expect(readFileSync(file, 'utf8')).toBe(first.toString());
      // Different keys sign different CSRF tokens for the same session.
      expect(csrfToken(first, 'session')).not.toBe(csrfToken(Buffer.from(given), 'session'));
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
