/**
 * Concurrent connections never see each other's statements. Embedded mode once ran on PGlite
 * behind pglite-socket, which interleaved the extended-protocol messages of different
 * connections on one session (electric-sql/pglite #1046): a statement failed with
 * "bind message supplies 4 parameters, but prepared statement requires 3", or — when the
 * shapes matched — ran with another connection's parameters. Both checks below failed there.
 */
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.ts';

let t: TestApp;
let base: string;
let auth: Record<string, string>;
beforeAll(async () => {
  t = await createTestApp();
  auth = await t.authHeaders();
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
});
afterAll(async () => { await t?.close(); });

describe('concurrent connections', () => {
  it('each parameterized statement gets its own parameters back, across connections running statements of equal shape', async () => {
    const connections = 4;
    const rounds = 25;
    const size = 1 << 20;
    const clients = await Promise.all(
      Array.from({ length: connections }, async () => {
        const c = new pg.Client({ connectionString: t.url });
        await c.connect();
        return c;
      }),
    );
    try {
      const wrong: string[] = [];
      await Promise.all(
        clients.map(async (client, i) => {
          for (let r = 0; r < rounds; r++) {
            // Different text per connection, same parameter count and types: a mixed-up Bind
            // runs without error, so only the values can tell.
            // A 1 MiB parameter makes the Bind message arrive in several socket reads, which is
            // where another connection's messages got in between.
            const answer = await client.query<{ c: number; r: number; tag: string; len: number }>(
              `SELECT $1::int AS c, $2::int AS r, left($3::text, 12) || '-${i}' AS tag, length($3::text) AS len`,
              [i, r, `conn${String(i).padStart(8, '0')}`.padEnd(size + i, 'x')],
            ).catch((err: Error) => err);
            if (answer instanceof Error) {
              wrong.push(`connection ${i} round ${r}: ${answer.message}`);
              continue;
            }
            const row = answer.rows[0]!;
            const ok = row.c === i && row.r === r && row.tag === `conn${String(i).padStart(8, '0')}-${i}` && row.len === size + i;
            if (!ok) wrong.push(`connection ${i} round ${r}: ${JSON.stringify(row)}`);
          }
        }),
      );
      expect(wrong).toEqual([]);
    } finally {
      await Promise.all(clients.map((c) => c.end()));
    }
  });

  it('answers 201 to three concurrent bulk inserts of 10,000 items over HTTP', async () => {
    const body = (k: number) => JSON.stringify(Array.from({ length: 10_000 }, (_, i) => ({ name: `concurrent-${k}-${i}`, description: 'x'.repeat(50), score: i })));
    const answers = await Promise.all(
      [0, 1, 2].map(async (k) => {
        const res = await fetch(`${base}/api/items/bulk`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: body(k) });
        return { status: res.status, json: (await res.json()) as { created?: number; ids?: number[] } };
      }),
    );
    expect(answers.map((a) => a.status)).toEqual([201, 201, 201]);
    expect(answers.map((a) => a.json.created)).toEqual([10_000, 10_000, 10_000]);
    const ids = new Set(answers.flatMap((a) => a.json.ids ?? []));
    expect(ids.size).toBe(30_000);
    const { rows } = await t.data.database.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM app.items WHERE name LIKE 'concurrent-%'`);
    expect(rows[0]!.n).toBe(30_000);
  });
});
