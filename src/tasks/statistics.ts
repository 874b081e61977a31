/**
 * The planner's statistics of a young task table.
 *
 * PostgreSQL plans a prepared statement once (after five custom plans) and keeps that plan
 * until the table's statistics change, and autovacuum first analyzes a new table up to a
 * minute (`autovacuum_naptime`) after rows arrive. On a fresh database the engine's outcome
 * statement was planned while `app.tasks` held a few hundred rows, as a hash join over a
 * sequential scan, and it went on reading the whole table on every batch as the table grew:
 * 2.1 ms per statement at 10,000 rows instead of 0.1 ms (auto_explain, bench `tasks`).
 *
 * So every worker, with its heartbeat, analyzes an engine table that has changed more rows than
 * it holds since it was last analyzed (at least 1,000): a table that has doubled. That happens
 * a few times while a table is young; past that autovacuum's own threshold (10% of the rows)
 * always comes first. An advisory lock lets one worker at a time do it.
 */
import type pg from 'pg';

/** Schemas whose tables the engine writes on every task: its own, and BullMQ's in PostgreSQL mode. */
const SCHEMAS = ['app', 'bullmq'];
/** Fewer changes than this never trigger an analysis. */
const MIN_CHANGES = 1_000;
/** pg_try_advisory_xact_lock key: "conveyor statistics". */
const LOCK_KEY = 0x636f6e73;

/** Analyze the engine tables that have doubled since their last analysis; answers their names. */
export async function analyzeGrownTables(pool: pg.Pool): Promise<string[]> {
  const { rows } = await pool.query<{ rel: string }>(
    `SELECT format('%I.%I', s.schemaname, s.relname) AS rel
       FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
      WHERE s.schemaname = ANY($1::text[]) AND s.n_mod_since_analyze >= greatest($2::float8, c.reltuples)`,
    [SCHEMAS, MIN_CHANGES],
  );
  if (rows.length === 0) return [];
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const { rows: lock } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_xact_lock($1) AS locked', [LOCK_KEY]);
    if (lock[0]?.locked) for (const { rel } of rows) await client.query(`ANALYZE ${rel}`);
    await client.query('COMMIT');
    return lock[0]?.locked ? rows.map((r) => r.rel) : [];
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
