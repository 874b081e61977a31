/** Items CRUD and listing: GET/POST /api/items, GET/PATCH/DELETE /api/items/:id, error shapes. */
import { eq } from 'drizzle-orm';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { items } from '../../src/modules/items/table.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';

let t: TestApp;
let auth: Record<string, string>;
beforeAll(async () => {
  t = await createTestApp();
  auth = await t.authHeaders();
});
afterAll(async () => { await t?.close(); });

let seq = 0;
const uniqueName = (prefix = 'item') => `${prefix}-${process.pid}-${++seq}`;

function expectError(res: LightMyRequestResponse, status: number, code: string) {
  expect(res.statusCode).toBe(status);
  const body = res.json();
  expect(body.error.code).toBe(code);
  expect(typeof body.error.message).toBe('string');
  expect(body.request_id).toBe(res.headers['x-request-id']);
  return body.error as { code: string; message: string; details?: unknown };
}

async function create(payload: Record<string, unknown>) {
  const res = await t.app.inject({ method: 'POST', url: '/api/items', headers: auth, payload });
  expect(res.statusCode).toBe(201);
  return res.json() as { id: number; name: string; description: string; status: string; score: number; created_at: string; updated_at: string };
}

describe('the seed tests', () => {
  it('retrieves an item after creating it', async () => {
    const created = await create({ name: uniqueName('seed'), description: 'first', score: 4.5 });
    const res = await t.app.inject({ url: `/api/items/${created.id}` });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual(created);
  });

  it('creates an item over HTTP and reads it back from the database with Drizzle', async () => {
    const name = uniqueName('seed-db');
    const created = await create({ name, status: 'inactive' });
    const [row] = await t.data.database.db.select().from(items).where(eq(items.id, created.id));
    expect(row).toMatchObject({ name, status: 'inactive', description: '', score: 0 });
    expect(row!.createdAt.toISOString()).toBe(created.created_at);
  });
});

describe('POST /api/items', () => {
  it('answers 201 with the item, its defaults and a Location header', async () => {
    const name = uniqueName();
    const res = await t.app.inject({ method: 'POST', url: '/api/items', headers: auth, payload: { name } });
    expect(res.statusCode).toBe(201);
    const item = res.json();
    expect(res.headers.location).toBe(`/api/items/${item.id}`);
    expect(item).toMatchObject({ name, description: '', status: 'active', score: 0 });
    expect(Number.isInteger(item.id)).toBe(true);
    expect(new Date(item.created_at).toISOString()).toBe(item.created_at);
    expect(item.updated_at).toBe(item.created_at);
  });

  it('answers 401 without a token, and creates nothing', async () => {
    const name = uniqueName();
    const res = await t.app.inject({ method: 'POST', url: '/api/items', payload: { name } });
    expectError(res, 401, 'unauthenticated');
    const exists = await t.app.inject({ url: `/api/items/exists?name=${encodeURIComponent(name)}` });
    expect(exists.json()).toEqual({ exists: false });
  });

  it('answers 401 for an invalid token', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/api/items', headers: { authorization: 'Bearer cvt_nope' }, payload: { name: uniqueName() } });
    expectError(res, 401, 'unauthenticated');
  });

  it('answers 400 listing every offending field', async () => {
    const res = await t.app.inject({
      method: 'POST', url: '/api/items', headers: auth,
      payload: { name: '', status: 'deleted', score: 'high', colour: 'red' },
    });
    const error = expectError(res, 400, 'invalid_request');
    const fields = (error.details as { field: string }[]).map((d) => d.field);
    expect(fields).toEqual(expect.arrayContaining(['body.name', 'body.status', 'body.score', 'body.colour']));
  });

  it('answers 400 for a missing name and for too long a name or description', async () => {
    const missing = expectError(await t.app.inject({ method: 'POST', url: '/api/items', headers: auth, payload: {} }), 400, 'invalid_request');
    expect(missing.details).toEqual(expect.arrayContaining([expect.objectContaining({ field: 'body.name' })]));
    const long = await t.app.inject({ method: 'POST', url: '/api/items', headers: auth, payload: { name: 'x'.repeat(201), description: 'y'.repeat(10_001) } });
    const fields = (expectError(long, 400, 'invalid_request').details as { field: string }[]).map((d) => d.field);
    expect(fields).toEqual(expect.arrayContaining(['body.name', 'body.description']));
  });

  it('answers 400 for malformed JSON', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/api/items', headers: { ...auth, 'content-type': 'application/json' }, payload: '{"name": ' });
    expectError(res, 400, 'invalid_request');
  });

  it('answers 415 for a body that is not JSON', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/api/items', headers: { ...auth, 'content-type': 'text/plain' }, payload: 'name=x' });
    expectError(res, 415, 'unsupported_media_type');
  });

  it('answers 413 past the body limit', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/api/items', headers: auth, payload: { name: 'big', description: 'x'.repeat(t.config.BODY_LIMIT) } });
    expectError(res, 413, 'payload_too_large');
  });

  it('answers 409 for a name already taken, keeping the first item', async () => {
    const name = uniqueName();
    const first = await create({ name, description: 'original' });
    const res = await t.app.inject({ method: 'POST', url: '/api/items', headers: auth, payload: { name, description: 'impostor' } });
    expect(expectError(res, 409, 'conflict').message).toContain(name);
    expect((await t.app.inject({ url: `/api/items/${first.id}` })).json().description).toBe('original');
  });
});

describe('GET /api/items/:id', () => {
  it('answers 404 for an unknown id', async () => {
    expectError(await t.app.inject({ url: '/api/items/987654321' }), 404, 'not_found');
  });

  it('answers 400 for an id that is not a positive integer', async () => {
    const error = expectError(await t.app.inject({ url: '/api/items/abc' }), 400, 'invalid_request');
    expect(error.details).toEqual([expect.objectContaining({ field: 'params.id' })]);
    expectError(await t.app.inject({ url: '/api/items/0' }), 400, 'invalid_request');
  });

  it('echoes the caller\'s x-request-id', async () => {
    const res = await t.app.inject({ url: '/api/items/987654321', headers: { 'x-request-id': 'trace-items-1' } });
    expect(res.headers['x-request-id']).toBe('trace-items-1');
    expect(res.json().request_id).toBe('trace-items-1');
  });
});

describe('PATCH /api/items/:id', () => {
  it('changes only the given fields and bumps updated_at', async () => {
    const item = await create({ name: uniqueName(), description: 'keep me', score: 1 });
    const res = await t.app.inject({ method: 'PATCH', url: `/api/items/${item.id}`, headers: auth, payload: { status: 'inactive', score: 2.5 } });
    expect(res.statusCode).toBe(200);
    const updated = res.json();
    expect(updated).toMatchObject({ id: item.id, name: item.name, description: 'keep me', status: 'inactive', score: 2.5, created_at: item.created_at });
    expect(Date.parse(updated.updated_at)).toBeGreaterThan(Date.parse(item.updated_at));
    expect((await t.app.inject({ url: `/api/items/${item.id}` })).json()).toEqual(updated);
  });

  it('renames, and answers 409 when the new name is taken', async () => {
    const a = await create({ name: uniqueName() });
    const b = await create({ name: uniqueName() });
    const renamed = await t.app.inject({ method: 'PATCH', url: `/api/items/${a.id}`, headers: auth, payload: { name: `${a.name}-renamed` } });
    expect(renamed.json().name).toBe(`${a.name}-renamed`);
    const clash = await t.app.inject({ method: 'PATCH', url: `/api/items/${b.id}`, headers: auth, payload: { name: `${a.name}-renamed` } });
    expectError(clash, 409, 'conflict');
    expect((await t.app.inject({ url: `/api/items/${b.id}` })).json().name).toBe(b.name);
  });

  it('answers 404, 401 and 400 as it should', async () => {
    expectError(await t.app.inject({ method: 'PATCH', url: '/api/items/987654321', headers: auth, payload: { score: 1 } }), 404, 'not_found');
    const item = await create({ name: uniqueName() });
    expectError(await t.app.inject({ method: 'PATCH', url: `/api/items/${item.id}`, payload: { score: 1 } }), 401, 'unauthenticated');
    const bad = await t.app.inject({ method: 'PATCH', url: `/api/items/${item.id}`, headers: auth, payload: { id: 5, status: 'gone' } });
    const fields = (expectError(bad, 400, 'invalid_request').details as { field: string }[]).map((d) => d.field);
    expect(fields).toEqual(expect.arrayContaining(['body.id', 'body.status']));
  });
});

describe('DELETE /api/items/:id', () => {
  it('answers 204, then 404 for the same id', async () => {
    const item = await create({ name: uniqueName() });
    const res = await t.app.inject({ method: 'DELETE', url: `/api/items/${item.id}`, headers: auth });
    expect(res.statusCode).toBe(204);
    expect(res.body).toBe('');
    expectError(await t.app.inject({ url: `/api/items/${item.id}` }), 404, 'not_found');
    expectError(await t.app.inject({ method: 'DELETE', url: `/api/items/${item.id}`, headers: auth }), 404, 'not_found');
  });

  it('answers 401 without a token and keeps the item', async () => {
    const item = await create({ name: uniqueName() });
    expectError(await t.app.inject({ method: 'DELETE', url: `/api/items/${item.id}` }), 401, 'unauthenticated');
    expect((await t.app.inject({ url: `/api/items/${item.id}` })).statusCode).toBe(200);
  });
});

describe('GET /api/items', () => {
  it('walks every item by id with the cursor, and filters by status', async () => {
    const prefix = uniqueName('walk');
    const made: { id: number; status: string }[] = [];
    for (let i = 0; i < 7; i++) made.push(await create({ name: `${prefix}-${i}`, status: i % 3 === 0 ? 'inactive' : 'active' }));

    const walk = async (query: string) => {
      const seen: { id: number; status: string }[] = [];
      let after: number | null = null;
      let pages = 0;
      do {
        const res = await t.app.inject({ url: `/api/items?limit=3${query}${after === null ? '' : `&after=${after}`}` });
        expect(res.statusCode).toBe(200);
        const page = res.json() as { data: { id: number; status: string }[]; next: number | null };
        expect(page.data.length).toBeLessThanOrEqual(3);
        if (page.next !== null) expect(page.next).toBe(page.data.at(-1)!.id);
        seen.push(...page.data);
        after = page.next;
        pages++;
      } while (after !== null && pages < 1000);
      return seen;
    };

    const all = await walk('');
    const ids = all.map((i) => i.id);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(new Set(ids).size).toBe(ids.length);
    for (const m of made) expect(ids).toContain(m.id);

    const inactive = await walk('&status=inactive');
    expect(inactive.every((i) => i.status === 'inactive')).toBe(true);
    expect(inactive.map((i) => i.id)).toEqual(expect.arrayContaining(made.filter((m) => m.status === 'inactive').map((m) => m.id)));
    expect(inactive.map((i) => i.id)).not.toContain(made.find((m) => m.status === 'active')!.id);
  });

  it('answers next: null on the last page and defaults to 100 rows', async () => {
    const res = await t.app.inject({ url: '/api/items' });
    const page = res.json();
    expect(page.data.length).toBeLessThanOrEqual(100);
    expect(page.next).toBeNull();
    const beyond = await t.app.inject({ url: `/api/items?after=${Number.MAX_SAFE_INTEGER - 1}` });
    expect(beyond.json()).toEqual({ data: [], next: null });
  });

  it('answers 400 for a bad limit, status or unknown parameter', async () => {
    for (const q of ['limit=0', 'limit=1001', 'limit=ten', 'status=archived', 'after=-1', 'colour=red']) {
      const error = expectError(await t.app.inject({ url: `/api/items?${q}` }), 400, 'invalid_request');
      expect((error.details as { field: string }[])[0]!.field).toMatch(/^querystring\./);
    }
  });
});

describe('OpenAPI', () => {
  it('documents every Items route, with error responses, and security on every write', async () => {
    const res = await t.app.inject({ url: '/docs/json' });
    expect(res.statusCode).toBe(200);
    const paths = res.json().paths as Record<string, Record<string, { security?: unknown[]; responses: Record<string, unknown>; tags?: string[] }>>;
    const expected = [
      'get /api/items', 'post /api/items', 'get /api/items/{id}', 'patch /api/items/{id}', 'delete /api/items/{id}',
      'get /api/items/first-last', 'get /api/items/exists', 'get /api/items/count', 'get /api/items/aggregate',
      'post /api/items/get-or-create', 'post /api/items/update-or-create', 'post /api/items/bulk', 'patch /api/items/bulk',
      'get /api/items/stream',
    ];
    for (const route of expected) {
      const [method, path] = route.split(' ') as [string, string];
      const op = paths[path]?.[method];
      expect(op, route).toBeDefined();
      expect(op!.tags).toContain('items');
      expect(Object.keys(op!.responses).some((s) => s.startsWith('4') || s.startsWith('5')), route).toBe(true);
      if (method === 'get') expect(op!.security, route).toBeUndefined();
      else {
        expect(op!.security, route).toEqual([{ bearer: [] }, { session: [] }]);
        expect(op!.responses, route).toHaveProperty('401');
      }
    }
    expect(paths['/api/items/stream']!.get!.responses['200']).toHaveProperty(['content', 'application/x-ndjson']);
  });
});
