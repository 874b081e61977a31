import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.ts';

let t: TestApp;
beforeAll(async () => { t = await createTestApp(); });
afterAll(async () => { await t?.close(); });

describe('service core', () => {
  it('creates an item and reads it back (the seed test: retrieve after create)', async () => {
    const headers = await t.authHeaders();
    const created = await t.app.inject({ method: 'POST', url: '/api/items', headers, payload: { name: 'seed item' } });
    expect(created.statusCode).toBe(201);
    const item = created.json();
    expect(created.headers.location).toBe(`/api/items/${item.id}`);
    const read = await t.app.inject({ url: `/api/items/${item.id}` });
    expect(read.statusCode).toBe(200);
    expect(read.json()).toMatchObject({ name: 'seed item', status: 'active', score: 0, description: '' });
  });
});
