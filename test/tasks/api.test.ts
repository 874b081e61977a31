/** The task HTTP contract on each backend: POST/GET/DELETE /api/tasks, listing, SSE, fetch_data. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app/build-app.ts';
import { createTaskEnv, type TaskEnv } from './harness.ts';

let env: TaskEnv;
let app: App;
let user: { headers: Record<string, string>; userId: number };
let other: { headers: Record<string, string>; userId: number };
let staff: { headers: Record<string, string>; userId: number };
let upstream: Server;
let upstreamUrl: string;

beforeAll(async () => {
  upstream = createServer((req, res) => {
    if (req.url === '/text') return res.end('not json');
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ hello: 'world', path: req.url }));
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  env = await createTaskEnv({ env: { TASK_QUEUE_LIMIT: '1000' } });
  await env.startWorker();
  app = await env.app();
  user = await env.authHeaders();
  other = await env.authHeaders();
  staff = await env.authHeaders({ staff: true });
});
afterAll(async () => {
  await env?.close();
  upstream?.close();
});

const post = (body: unknown, headers: Record<string, string> = user.headers) => app.inject({ method: 'POST', url: '/api/tasks', payload: body as object, headers });

describe(`task API on ${process.env.CONVEYOR_TEST_BROKER ?? 'embedded'}`, () => {
  it('POST queues fetch_data: 202 PENDING, then GET shows SUCCESS with the fetched JSON', async () => {
    const res = await post({ name: 'fetch_data', args: { url: `${upstreamUrl}/todo/1` } });
    expect(res.statusCode).toBe(202);
    const { task_id, state } = res.json();
    expect(state).toBe('PENDING');
    expect(task_id).toMatch(/^[0-9a-f-]{36}$/);
    await env.waitFor(task_id, ['SUCCESS', 'FAILURE']);
    const got = await app.inject({ url: `/api/tasks/${task_id}`, headers: user.headers });
    expect(got.statusCode).toBe(200);
    expect(got.json()).toMatchObject({ task_id, name: 'fetch_data', state: 'SUCCESS', result: { hello: 'world', path: '/todo/1' }, retries: 0 });
    expect(got.json().created_at).toMatch(/Z$/);
    expect(got.json().finished_at).toMatch(/Z$/);
  });

  it('fetch_data of a non-JSON answer fails at once, without retries', async () => {
    const { task_id } = (await post({ name: 'fetch_data', args: { url: `${upstreamUrl}/text` } })).json();
    const t = await env.waitFor(task_id, ['SUCCESS', 'FAILURE']);
    expect(t).toMatchObject({ state: 'FAILURE', retries: 0 });
    expect(t.error).toMatch(/JSON/);
  });

  it('400 for an unknown task and for bad args, with details', async () => {
    const unknown = await post({ name: 'nope', args: {} });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().error.code).toBe('invalid_request');
    const bad = await post({ name: 'fetch_data', args: { url: 42, extra: true } });
    expect(bad.statusCode).toBe(400);
    const fields = bad.json().error.details.map((d: { field: string }) => d.field);
    expect(fields).toEqual(expect.arrayContaining(['args.url', 'args.extra']));
    const badOpts = await post({ name: 'fetch_data', args: { url: upstreamUrl }, options: { retries: -1, delay_ms: 'x', nope: 1 } });
    expect(badOpts.statusCode).toBe(400);
  });

  it('401 without a user', async () => {
    expect((await post({ name: 'fetch_data', args: { url: upstreamUrl } }, {})).statusCode).toBe(401);
  });

  it('404 for an unknown id, and for a task of another user; staff sees it', async () => {
    expect((await app.inject({ url: '/api/tasks/00000000-0000-4000-8000-000000000000' })).statusCode).toBe(404);
    const { task_id } = (await post({ name: 't_echo', args: { value: 5 } })).json();
    expect((await app.inject({ url: `/api/tasks/${task_id}`, headers: other.headers })).statusCode).toBe(404);
    expect((await app.inject({ url: `/api/tasks/${task_id}` })).statusCode).toBe(404);
    expect((await app.inject({ url: `/api/tasks/${task_id}`, headers: staff.headers })).statusCode).toBe(200);
    expect((await app.inject({ method: 'DELETE', url: `/api/tasks/${task_id}`, headers: other.headers })).statusCode).toBe(404);
  });

  it('DELETE revokes a waiting task (200 REVOKED) and answers 409 once finished', async () => {
    const { task_id } = (await post({ name: 't_echo', args: { value: 1 }, options: { delay_ms: 60_000 } })).json();
    const del = await app.inject({ method: 'DELETE', url: `/api/tasks/${task_id}`, headers: user.headers });
    expect(del.statusCode).toBe(200);
    expect(del.json()).toMatchObject({ task_id, state: 'REVOKED' });
    expect((await app.inject({ url: `/api/tasks/${task_id}`, headers: user.headers })).json().state).toBe('REVOKED');
    const again = await app.inject({ method: 'DELETE', url: `/api/tasks/${task_id}`, headers: user.headers });
    expect([again.statusCode, again.json().error.code]).toEqual([409, 'conflict']);
    const done = (await post({ name: 't_echo', args: { value: 2 } })).json().task_id;
    await env.waitFor(done, ['SUCCESS']);
    const conflict = await app.inject({ method: 'DELETE', url: `/api/tasks/${done}`, headers: user.headers });
    expect(conflict.statusCode).toBe(409);
    expect(conflict.json().error.code).toBe('conflict');
  });

  it('GET /api/tasks lists the caller\'s tasks, filtered by state and name, paginated', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push((await post({ name: 't_echo', args: { value: i } }, other.headers)).json().task_id);
    for (const id of ids) await env.waitFor(id, ['SUCCESS']);
    const page = await app.inject({ url: '/api/tasks?state=SUCCESS&name=t_echo&limit=3', headers: other.headers });
    expect(page.statusCode).toBe(200);
    expect(page.json().data).toHaveLength(3);
    expect(page.json().next).toEqual(expect.any(String));
    const rest = await app.inject({ url: `/api/tasks?state=SUCCESS&name=t_echo&limit=3&after=${page.json().next}`, headers: other.headers });
    const all = [...page.json().data, ...rest.json().data].map((t: { task_id: string }) => t.task_id);
    expect(all.sort()).toEqual([...ids].sort());
    expect(rest.json().next).toBeNull();
    expect((await app.inject({ url: '/api/tasks?state=NOPE' })).statusCode).toBe(400);
    expect((await app.inject({ url: '/api/tasks?after=zzz', headers: other.headers })).statusCode).toBe(400);
  });

  it('GET /api/tasks/{id}/events streams each state change and closes after the final one', async () => {
    // Long enough to be seen STARTED by a nudge or the fallback poll, even on a loaded machine.
    const { task_id } = (await post({ name: 't_sleep', args: { ms: 1_000 } })).json();
    await app.listen({ port: 0, host: '127.0.0.1' });
    const port = (app.server.address() as AddressInfo).port;
    const res = await fetch(`http://127.0.0.1:${port}/api/tasks/${task_id}/events`, { headers: user.headers });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
    // The hijacked stream still carries the API's security headers.
    expect(res.headers.get('content-security-policy')).toBe("default-src 'none';frame-ancestors 'none'");
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    const text = await res.text(); // ends when the server closes the stream
    const states = [...text.matchAll(/^data: (.*)$/gm)].map((m) => JSON.parse(m[1]!).state as string);
    expect(states.at(-1)).toBe('SUCCESS');
    expect(states).toContain('STARTED');
    expect(new Set(states).size).toBe(states.length);
  });

  it('429 queue_full when the queue is over TASK_QUEUE_LIMIT', async () => {
    const limited = await createTaskEnv({ env: { TASK_QUEUE_LIMIT: '3' } });
    try {
      const a = await limited.app();
      const u = await limited.authHeaders();
      const codes: number[] = [];
      for (let i = 0; i < 5; i++) codes.push((await a.inject({ method: 'POST', url: '/api/tasks', payload: { name: 't_echo', args: { value: i } }, headers: u.headers })).statusCode);
      expect(codes).toEqual([202, 202, 202, 429, 429]);
    } finally {
      await limited.close();
    }
  });

  it('/readyz checks the broker', async () => {
    const res = await app.inject({ url: '/readyz' });
    expect(res.statusCode).toBe(200);
    expect(JSON.stringify(res.json())).toMatch(/broker/);
  });
});
