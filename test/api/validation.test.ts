/**
 * 400 invalid_request lists every offending field (`[{field, message}]`, at most 100) in
 * bodies, query strings and path parameters, never coercing a JSON body's types.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.ts';

let t: TestApp;
let auth: Record<string, string>;
beforeAll(async () => {
  t = await createTestApp();
  auth = await t.authHeaders();
});
afterAll(async () => { await t?.close(); });

const fieldsOf = (body: { error: { code: string; details: { field: string; message: string }[] } }) => {
  expect(body.error.code).toBe('invalid_request');
  return body.error.details.map((d) => d.field);
};

describe('every offending field', () => {
  it('names a wrong type in a JSON body instead of coercing it', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/api/items', headers: auth, payload: { name: 5, score: 'x' } });
    expect(res.statusCode).toBe(400);
    expect(fieldsOf(res.json()).sort()).toEqual(['body.name', 'body.score']);
    const patch = await t.app.inject({ method: 'PATCH', url: '/api/items/1', headers: auth, payload: { name: 5, score: '3', status: 'gone' } });
    expect(fieldsOf(patch.json()).sort()).toEqual(['body.name', 'body.score', 'body.status']);
    expect(patch.json().error.details.find((d: { field: string }) => d.field === 'body.status').message).toBe('must be one of: active, inactive');
  });

  it('names every bad entry of a bulk body by index', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/api/items/bulk', headers: auth, payload: [{ name: 'ok-v' }, { name: 5 }, { name: 'x', score: 'y', colour: 1 }] });
    expect(fieldsOf(res.json())).toEqual(['body.1.name', 'body.2.colour', 'body.2.score']);
  });

  it('caps details at 100 however many entries are bad', async () => {
    const entries = Array.from({ length: 20_000 }, (_, i) => ({ name: i, status: 'gone' }));
    const res = await t.app.inject({ method: 'POST', url: '/api/items/bulk', headers: { ...auth, 'content-type': 'application/json' }, payload: JSON.stringify(entries) });
    expect(res.statusCode).toBe(400);
    const fields = fieldsOf(res.json());
    expect(fields).toHaveLength(100);
    expect(fields.slice(0, 3)).toEqual(['body', 'body.0.name', 'body.0.status']);
  });

  it('names every bad query value and unknown query parameter', async () => {
    const res = await t.app.inject({ url: '/api/items?status=deleted&limit=0&after=x&colour=red' });
    expect(res.statusCode).toBe(400);
    expect(fieldsOf(res.json()).sort()).toEqual(['querystring.after', 'querystring.colour', 'querystring.limit', 'querystring.status']);
    const count = await t.app.inject({ url: '/api/items/count?status=nope&state=active' });
    expect(fieldsOf(count.json()).sort()).toEqual(['querystring.state', 'querystring.status']);
  });

  it('refuses query parameters on a route that takes none', async () => {
    const res = await t.app.inject({ url: '/api/items/first-last?order=desc' });
    expect(res.statusCode).toBe(400);
    expect(fieldsOf(res.json())).toEqual(['querystring.order']);
    expect((await t.app.inject({ url: '/api/items/first-last' })).statusCode).toBe(200);
  });

  it('names a bad path parameter', async () => {
    const res = await t.app.inject({ url: '/api/items/abc' });
    expect([res.statusCode, fieldsOf(res.json())]).toEqual([400, ['params.id']]);
  });
});
