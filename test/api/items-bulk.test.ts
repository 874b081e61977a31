/** POST and PATCH /api/items/bulk: all-or-nothing, body limits, SQL-side append. */
import { count, inArray, like } from 'drizzle-orm';
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

const bulk = (method: 'POST' | 'PATCH', payload: unknown, headers = auth) =>
  t.app.inject({ method, url: '/api/items/bulk', headers, payload: payload as object });

async function countLike(pattern: string): Promise<number> {
  const [row] = await t.data.database.db.select({ n: count() }).from(items).where(like(items.name, pattern));
  return row!.n;
}

const fetchRows = (ids: number[]) => t.data.database.db.select().from(items).where(inArray(items.id, ids)).orderBy(items.id);

describe('POST /api/items/bulk', () => {
  it('creates every entry and answers their ids in request order', async () => {
    const entries = [
      { name: 'bulk-c', score: 3 },
      { name: 'bulk-a', description: 'with "quotes", \\backslashes\\ and {braces}', status: 'inactive' },
      { name: 'bulk-b' },
    ];
    const res = await bulk('POST', entries);
    expect(res.statusCode).toBe(201);
    const { created, ids } = res.json();
    expect(created).toBe(3);
    expect(ids).toHaveLength(3);
    const rows = await fetchRows(ids);
    const byId = new Map(rows.map((r) => [r.id, r]));
    expect(ids.map((id: number) => byId.get(id)!.name)).toEqual(['bulk-c', 'bulk-a', 'bulk-b']);
    expect(byId.get(ids[1])).toMatchObject({ description: entries[1]!.description, status: 'inactive', score: 0 });
    expect(byId.get(ids[0])).toMatchObject({ description: '', status: 'active', score: 3 });
  });

  it('creates 10,000 entries in one request (above the 1 MiB default body limit)', async () => {
    const entries = Array.from({ length: 10_000 }, (_, i) => ({ name: `bulk-big-${i}`, description: 'd'.repeat(100), score: i }));
    const payload = JSON.stringify(entries);
    expect(payload.length).toBeGreaterThan(t.config.BODY_LIMIT);
    const res = await t.app.inject({ method: 'POST', url: '/api/items/bulk', headers: { ...auth, 'content-type': 'application/json' }, payload });
    expect(res.statusCode).toBe(201);
    expect(res.json().created).toBe(10_000);
    expect(await countLike('bulk-big-%')).toBe(10_000);
  });

  it('creates nothing when one name is already taken (409)', async () => {
    const res = await bulk('POST', [{ name: 'bulk-new-1' }, { name: 'bulk-a' }, { name: 'bulk-new-2' }]);
    expect(res.statusCode).toBe(409);
    expect(res.json().error.code).toBe('conflict');
    expect(await countLike('bulk-new-%')).toBe(0);
  });

  it('creates nothing when a name appears twice in the request (409, naming it)', async () => {
    const res = await bulk('POST', [{ name: 'bulk-dup-1' }, { name: 'bulk-dup-2' }, { name: 'bulk-dup-1' }]);
    expect(res.statusCode).toBe(409);
    expect(res.json().error.details).toEqual([{ name: 'bulk-dup-1' }]);
    expect(await countLike('bulk-dup-%')).toBe(0);
  });

  it('creates nothing when one entry is invalid (400 naming its index)', async () => {
    const res = await bulk('POST', [{ name: 'bulk-inv-1' }, { name: 'bulk-inv-2', status: 'weird' }]);
    expect(res.statusCode).toBe(400);
    expect(res.json().error.details).toEqual(expect.arrayContaining([expect.objectContaining({ field: 'body.1.status' })]));
    expect(await countLike('bulk-inv-%')).toBe(0);
  });

  it('answers 400 for an empty list or more than 10,000 entries', async () => {
    expect((await bulk('POST', [])).statusCode).toBe(400);
    const tooMany = Array.from({ length: 10_001 }, (_, i) => ({ name: `bulk-over-${i}` }));
    const res = await bulk('POST', tooMany);
    expect(res.statusCode).toBe(400);
    expect(await countLike('bulk-over-%')).toBe(0);
  });

  it('answers 413 past BULK_BODY_LIMIT', async () => {
    const entries = Array.from({ length: 1700 }, (_, i) => ({ name: `bulk-huge-${i}`, description: 'x'.repeat(10_000) }));
    const payload = JSON.stringify(entries);
    expect(payload.length).toBeGreaterThan(t.config.BULK_BODY_LIMIT);
    const res = await t.app.inject({ method: 'POST', url: '/api/items/bulk', headers: { ...auth, 'content-type': 'application/json' }, payload });
    expect(res.statusCode).toBe(413);
    expect(res.json().error.code).toBe('payload_too_large');
    expect(await countLike('bulk-huge-%')).toBe(0);
  });

  it('answers 401 without a token and 415 for a non-JSON body', async () => {
    expect((await bulk('POST', [{ name: 'bulk-anon' }], {})).statusCode).toBe(401);
    const res = await t.app.inject({ method: 'POST', url: '/api/items/bulk', headers: { ...auth, 'content-type': 'text/csv' }, payload: 'name\nx' });
    expect(res.statusCode).toBe(415);
    expect(await countLike('bulk-anon')).toBe(0);
  });
});

describe('PATCH /api/items/bulk', () => {
  let ids: number[];
  beforeAll(async () => {
    const res = await bulk('POST', [{ name: 'upd-1', description: 'one' }, { name: 'upd-2', description: '' }, { name: 'upd-3', description: 'three' }]);
    ids = res.json().ids;
  });

  it('appends to each description in SQL (F("description") + " updated")', async () => {
    const res = await bulk('PATCH', { ids, set: {}, append_description: ' updated' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ updated: 3 });
    expect((await fetchRows(ids)).map((r) => r.description)).toEqual(['one updated', ' updated', 'three updated']);
  });

  it('sets fields on every listed item and bumps updated_at', async () => {
    const before = await fetchRows(ids);
    const res = await bulk('PATCH', { ids: ids.slice(0, 2), set: { status: 'inactive', score: 42 } });
    expect(res.json()).toEqual({ updated: 2 });
    const after = await fetchRows(ids);
    expect(after.map((r) => [r.status, r.score])).toEqual([['inactive', 42], ['inactive', 42], ['active', 0]]);
    expect(after[0]!.updatedAt.getTime()).toBeGreaterThan(before[0]!.updatedAt.getTime());
    expect(after[2]!.updatedAt.getTime()).toBe(before[2]!.updatedAt.getTime());
  });

  it('applies set.description then the append', async () => {
    const res = await bulk('PATCH', { ids: [ids[2]], set: { description: 'fresh' }, append_description: '!' });
    expect(res.json()).toEqual({ updated: 1 });
    expect((await fetchRows([ids[2]!]))[0]!.description).toBe('fresh!');
  });

  it('updates nothing when one id matches no item (404 naming it)', async () => {
    const res = await bulk('PATCH', { ids: [...ids, 987_654_321], set: { score: -1 } });
    expect(res.statusCode).toBe(404);
    expect(res.json().error.details).toEqual({ missing: [987_654_321] });
    expect((await fetchRows(ids)).some((r) => r.score === -1)).toBe(false);
  });

  it('updates nothing when an append would overflow one description (400)', async () => {
    const long = await bulk('POST', [{ name: 'upd-long', description: 'l'.repeat(9_995) }]);
    const all = [...ids, long.json().ids[0]];
    const res = await bulk('PATCH', { ids: all, set: {}, append_description: ' updated' });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('invalid_request');
    expect((await fetchRows(ids)).map((r) => r.description)).toEqual(['one updated', ' updated', 'fresh!']);
  });

  it('appends with append_description alone: set is optional', async () => {
    const res = await bulk('PATCH', { ids: [ids[2]], append_description: '?' });
    expect([res.statusCode, res.json()]).toEqual([200, { updated: 1 }]);
    expect((await fetchRows([ids[2]!]))[0]!.description).toBe('fresh!?');
    const undo = await bulk('PATCH', { ids: [ids[2]], set: { description: 'fresh!' } });
    expect(undo.statusCode).toBe(200);
  });

  it('answers 400 for nothing to set, bad ids or unknown fields; 401 without a token', async () => {
    for (const payload of [{ ids, set: {} }, { ids }]) {
      const nothing = await bulk('PATCH', payload);
      expect(nothing.statusCode).toBe(400);
      expect(nothing.json().error.details.map((d: { field: string }) => d.field)).toEqual(['body.set', 'body.append_description']);
    }
    const bad = await bulk('PATCH', { ids: ['x', 0], set: { name: 'no' } });
    expect(bad.statusCode).toBe(400);
    const fields = bad.json().error.details.map((d: { field: string }) => d.field);
    expect(fields).toEqual(expect.arrayContaining(['body.ids.0', 'body.ids.1', 'body.set.name']));
    expect((await bulk('PATCH', { ids: [], set: { score: 1 } })).statusCode).toBe(400);
    expect((await bulk('PATCH', { ids, set: { score: 1 } }, {})).statusCode).toBe(401);
    expect((await fetchRows(ids)).some((r) => r.score === 1)).toBe(false);
  });
});

describe('BULK_BODY_LIMIT from the config', () => {
  it('limits POST /api/items/bulk only', async () => {
    const small = await createTestApp({}, { BULK_BODY_LIMIT: 4096 });
    try {
      const headers = { ...(await small.authHeaders()), 'content-type': 'application/json' };
      const entries = Array.from({ length: 100 }, (_, i) => ({ name: `limit-${i}`, description: 'x'.repeat(50) }));
      const res = await small.app.inject({ method: 'POST', url: '/api/items/bulk', headers, payload: JSON.stringify(entries) });
      expect(res.statusCode).toBe(413);
      const fits = await small.app.inject({ method: 'POST', url: '/api/items/bulk', headers, payload: JSON.stringify(entries.slice(0, 10)) });
      expect(fits.statusCode).toBe(201);
      // The ordinary routes keep BODY_LIMIT.
      const single = await small.app.inject({ method: 'POST', url: '/api/items', headers, payload: JSON.stringify({ name: 'limit-single', description: 'y'.repeat(5000) }) });
      expect(single.statusCode).toBe(201);
    } finally {
      await small.close();
    }
  });
});
