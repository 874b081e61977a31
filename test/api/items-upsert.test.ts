/** POST /api/items/get-or-create and /api/items/update-or-create, including the 100-caller race. */
import { eq } from 'drizzle-orm';
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

const post = (url: string, payload: unknown, headers = auth) => t.app.inject({ method: 'POST', url, headers, payload: payload as object });
const rowsNamed = (name: string) => t.data.database.db.select().from(items).where(eq(items.name, name));

describe('POST /api/items/get-or-create', () => {
  it('creates with the defaults (201), then finds without applying them (200)', async () => {
    const first = await post('/api/items/get-or-create', { name: 'goc-1', defaults: { description: 'made', score: 3 } });
    expect(first.statusCode).toBe(201);
    expect(first.json()).toMatchObject({ created: true, item: { name: 'goc-1', description: 'made', score: 3, status: 'active' } });
    const again = await post('/api/items/get-or-create', { name: 'goc-1', defaults: { description: 'other', score: 9 } });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual({ created: false, item: first.json().item });
  });

  it('works without defaults', async () => {
    const res = await post('/api/items/get-or-create', { name: 'goc-bare' });
    expect(res.statusCode).toBe(201);
    expect(res.json().item).toMatchObject({ description: '', status: 'active', score: 0 });
  });

  it('100 simultaneous calls with one name create exactly one row, and all answer its id', async () => {
    const name = `goc-race-${Date.now()}`;
    const answers = await Promise.all(Array.from({ length: 100 }, () => post('/api/items/get-or-create', { name })));
    expect(answers.map((a) => a.statusCode).filter((s) => s !== 200 && s !== 201)).toEqual([]);
    expect(answers.filter((a) => a.statusCode === 201)).toHaveLength(1);
    expect(answers.filter((a) => a.json().created === true)).toHaveLength(1);
    expect(new Set(answers.map((a) => a.json().item.id)).size).toBe(1);
    const rows = await rowsNamed(name);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.id).toBe(answers[0]!.json().item.id);
  });

  it('answers 401 without a token and 400 for bad input', async () => {
    const anon = await post('/api/items/get-or-create', { name: 'goc-anon' }, {});
    expect(anon.statusCode).toBe(401);
    expect(await rowsNamed('goc-anon')).toHaveLength(0);
    const bad = await post('/api/items/get-or-create', { defaults: { status: 'nope', name: 'x' } });
    expect(bad.statusCode).toBe(400);
    const fields = bad.json().error.details.map((d: { field: string }) => d.field);
    expect(fields).toEqual(expect.arrayContaining(['body.name', 'body.defaults.status', 'body.defaults.name']));
  });
});

describe('POST /api/items/update-or-create', () => {
  it('by name: creates (201), then updates with the defaults (200)', async () => {
    const made = await post('/api/items/update-or-create', { name: 'uoc-1', defaults: { score: 1, description: 'v1' } });
    expect(made.statusCode).toBe(201);
    expect(made.json()).toMatchObject({ created: true, item: { name: 'uoc-1', score: 1, description: 'v1' } });
    const updated = await post('/api/items/update-or-create', { name: 'uoc-1', defaults: { score: 2, status: 'inactive' } });
    expect(updated.statusCode).toBe(200);
    const { item } = updated.json();
    expect(updated.json().created).toBe(false);
    expect(item).toMatchObject({ id: made.json().item.id, score: 2, status: 'inactive', description: 'v1' });
    expect(Date.parse(item.updated_at)).toBeGreaterThan(Date.parse(made.json().item.updated_at));
    expect(await rowsNamed('uoc-1')).toHaveLength(1);
  });

  it('by name, 50 simultaneous calls leave one row and exactly one "created"', async () => {
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => post('/api/items/update-or-create', { name: 'uoc-race', defaults: { score: i } })));
    expect(answers.every((a) => a.statusCode === 200 || a.statusCode === 201)).toBe(true);
    expect(answers.filter((a) => a.json().created)).toHaveLength(1);
    expect(new Set(answers.map((a) => a.json().item.id)).size).toBe(1);
    expect(await rowsNamed('uoc-race')).toHaveLength(1);
  });

  it('by id: applies the defaults to that item and leaves its name alone', async () => {
    const made = (await post('/api/items', { name: 'uoc-by-id' })).json();
    const res = await post('/api/items/update-or-create', { id: made.id, name: 'ignored-on-update', defaults: { description: 'by id' } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ created: false, item: { id: made.id, name: 'uoc-by-id', description: 'by id' } });
    expect(await rowsNamed('ignored-on-update')).toHaveLength(0);
  });

  it('by id with no such item: creates from name and defaults with a fresh id', async () => {
    const res = await post('/api/items/update-or-create', { id: 900_000_000, name: 'uoc-new', defaults: { score: 7 } });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({ created: true, item: { name: 'uoc-new', score: 7 } });
    expect(res.json().item.id).not.toBe(900_000_000);
  });

  it('by id with no such item and no name: 400, nothing created', async () => {
    const res = await post('/api/items/update-or-create', { id: 900_000_001, defaults: { score: 7 } });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.details).toEqual([expect.objectContaining({ field: 'body.name' })]);
  });

  it('by id creating with a taken name: 409', async () => {
    const res = await post('/api/items/update-or-create', { id: 900_000_002, name: 'uoc-1', defaults: {} });
    expect(res.statusCode).toBe(409);
    expect(res.json().error.code).toBe('conflict');
  });

  it('answers 400 with neither id nor name, or without defaults, and 401 without a token', async () => {
    const neither = await post('/api/items/update-or-create', { defaults: {} });
    expect(neither.statusCode).toBe(400);
    expect(neither.json().error.details).toEqual([expect.objectContaining({ field: 'body.name' })]);
    const noDefaults = await post('/api/items/update-or-create', { name: 'uoc-x' });
    expect(noDefaults.statusCode).toBe(400);
    expect(noDefaults.json().error.details).toEqual([expect.objectContaining({ field: 'body.defaults' })]);
    const anon = await post('/api/items/update-or-create', { name: 'uoc-anon', defaults: {} }, {});
    expect(anon.statusCode).toBe(401);
    expect(await rowsNamed('uoc-anon')).toHaveLength(0);
  });
});
