/** The dashboard's JSON API and pages against the real task engine (app.inject, no browser). */
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type App } from '../../src/app/build-app.ts';
import { migrateTaskEngine } from '../../src/tasks/backend.ts';
import { defineTask, type AnyTask } from '../../src/tasks/define.ts';
import { Type } from 'typebox';
import { createTaskEnv, type TaskEnv } from '../tasks/harness.ts';

// A queue this suite's workers do not consume: the overview must say so.
const lonelyQueue = `lonely_${process.pid}`;
const lonely = defineTask({ name: `t_lonely_${process.pid}`, payload: Type.Object({}), options: { queue: lonelyQueue }, handler: async () => null });

let env: TaskEnv;
let app: App;
let staff: Record<string, string>;
let member: Record<string, string>;

beforeAll(async () => {
  env = await createTaskEnv({ extraTasks: [lonely as unknown as AnyTask] });
  // This suite runs in the API projects, where the harness does not migrate BullMQ's schema.
  if (env.base.mode === 'postgres' && env.broker !== 'redis') await migrateTaskEngine(env.base.url);
  await env.startWorker();
  app = await buildApp(env.base.config, { database: env.base.data.database, logger: pino({ level: 'silent' }), tasks: env.client, monitor: env.client });
  await app.ready();
  staff = (await env.authHeaders({ staff: true })).headers;
  member = (await env.authHeaders({ staff: false })).headers;
});
afterAll(async () => {
  await app?.close();
  await env?.close();
});

describe('dashboard pages', () => {
  it('redirects anonymous visitors to the login page, keeping where they were going', async () => {
    const res = await app.inject({ url: '/dashboard/tasks?state=FAILURE' });
    expect(res.statusCode).toBe(302);
    expect(res.headers.location).toBe(`/dashboard/login?next=${encodeURIComponent('/dashboard/tasks?state=FAILURE')}`);
    const login = await app.inject({ url: '/dashboard/login' });
    expect(login.statusCode).toBe(200);
    expect(login.body).toContain('action="/api/auth/login"');
  });

  it('serves staff the page shell under a strict CSP with no inline script or style', async () => {
    const res = await app.inject({ url: '/dashboard/workers', headers: staff });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-security-policy']).toMatch(/script-src 'self'/);
    expect(res.body).not.toMatch(/<script>(?!<\/script>)|<style|style="/);
    expect(res.body).toContain('/dashboard/vendor/uPlot.iife.min.js');
    expect((await app.inject({ url: '/dashboard/vendor/uPlot.iife.min.js' })).statusCode).toBe(200);
    expect((await app.inject({ url: '/dashboard/vendor/uPlot.cjs.js' })).statusCode).toBe(404);
    expect((await app.inject({ url: '/dashboard/assets/app.js' })).headers['content-type']).toMatch(/javascript/);
  });

  it('tells a signed-in non-staff user the dashboard is staff only', async () => {
    const res = await app.inject({ url: '/dashboard', headers: member });
    expect(res.statusCode).toBe(403);
    expect(res.headers['content-type']).toMatch(/text\/html/);
  });
});

describe('dashboard API', () => {
  it('answers 401 and 403 in the contract\'s error shape', async () => {
    const anon = await app.inject({ url: '/dashboard/api/overview' });
    expect(anon.statusCode).toBe(401);
    expect(anon.json()).toMatchObject({ error: { code: 'unauthenticated' }, request_id: anon.headers['x-request-id'] });
    const denied = await app.inject({ method: 'POST', url: '/dashboard/api/tasks/x/revoke', headers: member });
    expect(denied.statusCode).toBe(403);
    expect(denied.json().error.code).toBe('forbidden');
  });

  it('lists, searches and shows tasks, with workers and queues in the overview', async () => {
    const { id } = await env.client.enqueue('t_echo', { value: 31337 });
    await env.waitFor(id, ['SUCCESS']);
    const found = await app.inject({ url: '/dashboard/api/tasks?search=31337', headers: staff });
    expect(found.statusCode).toBe(200);
    expect(found.json().data.map((t: { task_id: string }) => t.task_id)).toEqual([id]);
    const detail = (await app.inject({ url: `/dashboard/api/tasks/${id}`, headers: staff })).json();
    expect(detail).toMatchObject({ task_id: id, name: 't_echo', state: 'SUCCESS', args: { value: 31337 }, result: { value: 31337 }, attempts: 1, retries: 0 });
    expect(detail.runtime_ms).toBeGreaterThanOrEqual(0);
    const overview = (await app.inject({ url: '/dashboard/api/overview', headers: staff })).json();
    expect(overview.workers.some((w: { online: boolean }) => w.online)).toBe(true);
    expect(overview.queues.find((q: { queue: string }) => q.queue === env.queue)).toBeDefined();
    expect(overview.user).toEqual({ username: expect.any(String) });
    expect(overview.unserved_queues).toEqual([lonelyQueue]);
    expect((await app.inject({ url: '/dashboard/api/tasks?state=NOPE', headers: staff })).statusCode).toBe(400);
    const badCursor = await app.inject({ url: '/dashboard/api/tasks?after=not-a-cursor', headers: staff });
    expect([badCursor.statusCode, badCursor.json().error.code]).toEqual([400, 'invalid_request']);
    expect((await app.inject({ url: '/dashboard/api/tasks/no-such-task', headers: staff })).statusCode).toBe(404);
  });

  it('revokes an unfinished task, refuses a finished one (409), and retries it', async () => {
    const { id } = await env.client.enqueue('t_sleep', { ms: 60_000 });
    const revoked = await app.inject({ method: 'POST', url: `/dashboard/api/tasks/${id}/revoke`, headers: staff });
    expect(revoked.statusCode).toBe(200);
    expect(revoked.json().state).toBe('REVOKED');
    const done = await env.client.enqueue('t_echo', { value: 1 });
    await env.waitFor(done.id, ['SUCCESS']);
    const finished = await app.inject({ method: 'POST', url: `/dashboard/api/tasks/${done.id}/revoke`, headers: staff });
    expect(finished.statusCode).toBe(409);
    expect(finished.json().error.code).toBe('conflict');
    // The revoked task was running: it can be retried once its worker has stopped it (409 until then).
    let retried = await app.inject({ method: 'POST', url: `/dashboard/api/tasks/${id}/retry`, headers: staff });
    for (let i = 0; i < 100 && retried.statusCode === 409; i++) {
      await new Promise((r) => setTimeout(r, 100));
      retried = await app.inject({ method: 'POST', url: `/dashboard/api/tasks/${id}/retry`, headers: staff });
    }
    expect(retried.statusCode).toBe(200);
    await env.client.revoke(id).catch(() => undefined);
  });
});
