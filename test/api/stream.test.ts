/**
 * GET /api/items/stream over real HTTP: many rows in order, flat memory, back-pressure,
 * and a client that hangs up mid-stream gets its database connection returned.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { items } from '../../src/modules/items/table.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';

let t: TestApp;
let base: string;
let rows: number;
const MiB = 2 ** 20;

beforeAll(async () => {
  t = await createTestApp();
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  rows = t.mode === 'postgres' ? 200_000 : 20_000;
  await t.data.database.db.execute(sql`
    insert into ${items} (name, description, status, score)
    select 'stream-' || g, 'row "' || g || '"', case when g % 4 = 0 then 'inactive' else 'active' end, g / 2.0
    from generate_series(1, ${rows}::int) g`);
}, 300_000);
afterAll(async () => { await t?.close(); });

const pool = () => t.data.database.pool;
const checkedOut = () => pool().totalCount - pool().idleCount;

/** Connections out of the pool once things settle (one still connecting counts as out for a moment). */
async function settledCheckedOut(): Promise<number> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline && (checkedOut() !== 0 || pool().waitingCount !== 0)) await sleep(20);
  return checkedOut();
}

/** GET a URL and hand each complete line to `onLine`; resolves with headers once the body ends. */
function readLines(url: string, onLine: (line: string) => void): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    http.get(url, (res) => {
      let rest = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        const lines = (rest + chunk).split('\n');
        rest = lines.pop()!;
        for (const line of lines) onLine(line);
      });
      res.on('end', () => (rest === '' ? resolve(res) : reject(new Error(`unterminated last line: ${rest.slice(0, 80)}`))));
      res.on('error', reject);
    }).on('error', reject);
  });
}

function sampleRss() {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 10);
  return { stop: () => { clearInterval(timer); return Math.max(peak, process.memoryUsage().rss); } };
}

describe('GET /api/items/stream', () => {
  it('streams every row once, in id order, as NDJSON, with flat memory', async () => {
    (globalThis as { gc?: () => void }).gc?.();
    const before = process.memoryUsage();
    const sampler = sampleRss();
    let n = 0;
    let lastId = 0;
    let firstLineAt = 0;
    const started = performance.now();
    const res = await readLines(`${base}/api/items/stream`, (line) => {
      if (n === 0) firstLineAt = performance.now();
      // The id is read off the line's start (parsing 200,000 lines here would measure the client's memory, not the server's).
      if (!line.startsWith('{"id":')) throw new Error(`not an item line: ${line.slice(0, 80)}`);
      const id = Number(line.slice(6, line.indexOf(',', 6)));
      if (!(id > lastId)) throw new Error(`out of order: ${id} after ${lastId}`);
      if (n % 997 === 0 && (JSON.parse(line) as { name: string }).name !== `stream-${id}`) throw new Error(`wrong item: ${line}`);
      lastId = id;
      n++;
    });
    const secs = (performance.now() - started) / 1000;
    const peak = sampler.stop();
    const after = process.memoryUsage();

    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/x-ndjson/);
    expect(n).toBe(rows);
    const growth = (peak - before.rss) / MiB;
    console.info(`[${t.mode}] streamed ${n} rows in ${secs.toFixed(2)} s (${Math.round(n / secs)} rows/s), first line after ${(firstLineAt - started).toFixed(1)} ms, peak RSS growth ${growth.toFixed(1)} MiB, heap growth ${((after.heapUsed - before.heapUsed) / MiB).toFixed(1)} MiB`);
    expect(growth).toBeLessThan(64);
    expect((after.heapUsed - before.heapUsed) / MiB).toBeLessThan(64);
    expect(await settledCheckedOut()).toBe(0);
  });

  it('writes each line exactly as GET /api/items/:id renders the item', async () => {
    const created = await t.app.inject({
      method: 'POST', url: '/api/items', headers: await t.authHeaders(),
      payload: { name: 'stream-unicode ✓ "q" \\ \n tab\t', description: 'line\nbreak', score: 0.1 + 0.2, status: 'inactive' },
    });
    expect(created.statusCode).toBe(201);
    const id = created.json().id as number;
    let found: string | undefined;
    await readLines(`${base}/api/items/stream?status=inactive`, (line) => { if (line.startsWith(`{"id":${id},`)) found = line; });
    expect(found).toBeDefined();
    expect(JSON.parse(found!)).toEqual(created.json());
    expect(found).toBe(JSON.stringify(created.json()));
  });

  it('filters by status', async () => {
    let n = 0;
    let wrong = 0;
    await readLines(`${base}/api/items/stream?status=inactive`, (line) => {
      n++;
      if ((JSON.parse(line) as { status: string }).status !== 'inactive') wrong++;
    });
    expect(wrong).toBe(0);
    expect(n).toBe(rows / 4 + 1); // + the item of the previous test
  });

  it('answers 400 for an unknown parameter or status', async () => {
    const unknown = await t.app.inject({ url: '/api/items/stream?status=inactive&x=1' });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().error.details).toEqual([expect.objectContaining({ field: 'querystring.x' })]);
    const bad = await t.app.inject({ url: '/api/items/stream?status=archived' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe('invalid_request');
  });

  it('holds back while the client does not read, and releases the connection when it hangs up', async () => {
    const req = http.get(`${base}/api/items/stream`);
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => req.on('response', resolve).on('error', reject));
    expect(res.statusCode).toBe(200);
    const firstChunk = await new Promise<Buffer>((resolve) => res.once('data', resolve));
    expect(firstChunk.toString().startsWith('{"id":')).toBe(true);
    res.pause();
    // Without back-pressure the server would have read every row and let its connection go by now.
    await sleep(1500);
    if (t.mode === 'postgres') expect(checkedOut()).toBe(1);

    req.destroy();
    expect(await settledCheckedOut()).toBe(0);
    expect(pool().waitingCount).toBe(0);

    if (t.mode === 'postgres') {
      const open = await t.data.database.db.execute(sql`
        select count(*)::int as n from pg_stat_activity
        where datname = current_database() and pid <> pg_backend_pid() and query like '%row_to_json%' and state <> 'idle'`);
      expect(open.rows[0]).toEqual({ n: 0 });
    }
    const count = await t.app.inject({ url: '/api/items/count' });
    expect(count.statusCode).toBe(200);
    expect(count.json().count).toBe(rows + 1);
  });

  it('leaks no connection when clients hang up at any moment, even before the first byte', async () => {
    await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const req = http.get(`${base}/api/items/stream`);
        req.on('error', () => {}); // the abort itself
        await sleep(i % 5 === 0 ? 0 : i * 3);
        req.destroy();
      }),
    );
    expect(await settledCheckedOut()).toBe(0);
    const count = await t.app.inject({ url: '/api/items/count' });
    expect(count.json().count).toBe(rows + 1);
  });

  it('serves several streams at once without mixing them up', async () => {
    const counts = await Promise.all(
      [undefined, 'active', 'inactive'].map(async (status) => {
        let n = 0;
        await readLines(`${base}/api/items/stream${status ? `?status=${status}` : ''}`, () => { n++; });
        return n;
      }),
    );
    expect(counts).toEqual([rows + 1, (rows * 3) / 4, rows / 4 + 1]);
    expect(await settledCheckedOut()).toBe(0);
  });
});
