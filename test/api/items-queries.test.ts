/**
 * Whole-table reads: first-last, exists, count, aggregate. The tests run in order on this
 * file's own database, starting empty, so exact values can be asserted.
 */
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.ts';

let t: TestApp;
let auth: Record<string, string>;
beforeAll(async () => {
  t = await createTestApp();
  auth = await t.authHeaders();
});
afterAll(async () => { await t?.close(); });

const get = async (url: string) => {
  const res = await t.app.inject({ url });
  expect(res.statusCode).toBe(200);
  return res.json();
};

function expect400(res: LightMyRequestResponse, field: string) {
  expect(res.statusCode).toBe(400);
  expect(res.json().error.code).toBe('invalid_request');
  expect(res.json().error.details).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
}

async function create(name: string, status: 'active' | 'inactive', score: number) {
  const res = await t.app.inject({ method: 'POST', url: '/api/items', headers: auth, payload: { name, status, score } });
  expect(res.statusCode).toBe(201);
  return res.json() as { id: number; name: string };
}

describe('on an empty table', () => {
  it('first-last answers nulls', async () => {
    expect(await get('/api/items/first-last')).toEqual({ first: null, last: null });
  });

  it('count is 0 and exists is false', async () => {
    expect(await get('/api/items/count')).toEqual({ count: 0 });
    expect(await get('/api/items/exists')).toEqual({ exists: false });
  });

  it('aggregate answers count 0, null avg/min/max and sum 0', async () => {
    expect(await get('/api/items/aggregate')).toEqual({ count: 0, avg: null, min: null, max: null, sum: 0 });
  });
});

describe('with items', () => {
  const made: { id: number; name: string }[] = [];
  beforeAll(async () => {
    made.push(await create('q-alpha', 'active', 1));
    made.push(await create('q-beta', 'active', 2.5));
    made.push(await create('q-gamma', 'inactive', -4));
    made.push(await create('q-delta', 'active', 10));
  });

  it('first-last answers the lowest and highest id', async () => {
    const { first, last } = await get('/api/items/first-last');
    expect(first).toMatchObject({ id: made[0]!.id, name: 'q-alpha' });
    expect(last).toMatchObject({ id: made[3]!.id, name: 'q-delta', score: 10 });
  });

  it('counts everything or by status', async () => {
    expect(await get('/api/items/count')).toEqual({ count: 4 });
    expect(await get('/api/items/count?status=active')).toEqual({ count: 3 });
    expect(await get('/api/items/count?status=inactive')).toEqual({ count: 1 });
  });

  it('exists by name, by status, and by both (AND)', async () => {
    expect(await get('/api/items/exists?name=q-beta')).toEqual({ exists: true });
    expect(await get('/api/items/exists?name=q-nobody')).toEqual({ exists: false });
    expect(await get('/api/items/exists?status=inactive')).toEqual({ exists: true });
    expect(await get('/api/items/exists?status=inactive&name=q-gamma')).toEqual({ exists: true });
    expect(await get('/api/items/exists?status=active&name=q-gamma')).toEqual({ exists: false });
    expect(await get('/api/items/exists')).toEqual({ exists: true });
  });

  it('aggregates score over everything and by status', async () => {
    expect(await get('/api/items/aggregate')).toEqual({ count: 4, avg: 2.375, min: -4, max: 10, sum: 9.5 });
    expect(await get('/api/items/aggregate?status=active')).toEqual({ count: 3, avg: 13.5 / 3, min: 1, max: 10, sum: 13.5 });
    expect(await get('/api/items/aggregate?status=inactive')).toEqual({ count: 1, avg: -4, min: -4, max: -4, sum: -4 });
  });

  it('follows deletes: first-last and count move', async () => {
    const res = await t.app.inject({ method: 'DELETE', url: `/api/items/${made[3]!.id}`, headers: auth });
    expect(res.statusCode).toBe(204);
    expect((await get('/api/items/first-last')).last.id).toBe(made[2]!.id);
    expect(await get('/api/items/count')).toEqual({ count: 3 });
  });

  it('answers 400 for unknown filter values and parameters', async () => {
    expect400(await t.app.inject({ url: '/api/items/count?status=gone' }), 'querystring.status');
    expect400(await t.app.inject({ url: '/api/items/aggregate?status=gone' }), 'querystring.status');
    expect400(await t.app.inject({ url: '/api/items/exists?colour=red' }), 'querystring.colour');
    expect400(await t.app.inject({ url: `/api/items/exists?name=${'n'.repeat(201)}` }), 'querystring.name');
  });
});
