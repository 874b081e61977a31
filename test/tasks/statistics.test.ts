/**
 * A young task table's statistics (statistics.ts): a plan PostgreSQL cached while app.tasks
 * was nearly empty scans the whole table, and keeps doing so as it grows until the table is
 * analyzed. Workers analyze a table that has doubled, so the cached plan turns to the index.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeGrownTables } from '../../src/tasks/statistics.ts';
import { createTestData, type TestData } from '../helpers/database.ts';

let base: TestData;
beforeAll(async () => {
  base = await createTestData();
});
afterAll(async () => {
  await base?.close();
});

const insert = (n: number) =>
  base.data.database.pool.query(
    `INSERT INTO app.tasks (id, name, queue, state, args, dispatched) SELECT gen_random_uuid(), 't_echo', 'default', 'PENDING', jsonb_build_object('n', g), true FROM generate_series(1, $1::int) g`,
    [n],
  );

describe('the statistics of a young task table', () => {
  it('a plan cached on a nearly empty table scans it until the table is analyzed; a table that doubled is analyzed, and the plan uses the index', async () => {
    const pool = base.data.database.pool;
    await insert(10);
    const client = await pool.connect();
    try {
      // What the engine's batched statements do: a prepared keyed update, its plan cached after five runs.
      await client.query(`PREPARE keyed(uuid[]) AS UPDATE app.tasks AS t SET waiting = NULL FROM unnest($1) AS v(id) WHERE t.id = v.id`);
      for (let i = 0; i < 6; i++) await client.query(`EXECUTE keyed(ARRAY['${randomUUID()}']::uuid[])`);
      const plan = async () => (await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN EXECUTE keyed(ARRAY['${randomUUID()}']::uuid[])`)).rows.map((r) => r['QUERY PLAN']).join('\n');
      await insert(5_000);
      expect(await plan()).toMatch(/Seq Scan on tasks/);

      // The counters reach pg_stat_user_tables within a second or so.
      await expect.poll(() => analyzeGrownTables(pool), { timeout: 10_000, interval: 300 }).toContain('app.tasks');
      expect(await plan()).toMatch(/Index Scan using tasks_pkey/);
      const { rows } = await pool.query<{ analyzed: boolean }>(`SELECT last_analyze IS NOT NULL AS analyzed FROM pg_stat_user_tables WHERE relid = 'app.tasks'::regclass`);
      expect(rows[0]?.analyzed).toBe(true);

      // Nothing has doubled since: no second analysis.
      expect(await analyzeGrownTables(pool)).not.toContain('app.tasks');
    } finally {
      await client.query('DEALLOCATE keyed').catch(() => undefined);
      client.release();
    }
  });
});
