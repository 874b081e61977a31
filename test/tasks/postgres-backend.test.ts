/**
 * Conveyor's corrections to BullMQ's PostgreSQL backend:
 * - live events arrive in id order, each once, though transactions commit out of id order
 *   (src/tasks/ordered-events.ts); BullMQ's own read skips an event that commits after a
 *   later-numbered one was read.
 * - finished tasks keep one order when they finished in the same millisecond
 *   (src/tasks/stable-ranges.ts), so paging through them lists each once. PostgreSQL and
 *   embedded; Redis orders ties itself.
 * - a database migrated before the event index existed is reported at start.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateTaskEngine, openTaskBackend, type TaskQueueEvents } from '../../src/tasks/backend.ts';
import { EVENT_ID_INDEX } from '../../src/tasks/ordered-events.ts';
import { listTasks } from '../../src/tasks/list.ts';
import { broker, createTaskEnv, type TaskEnv } from './harness.ts';

describe.runIf(broker() === 'postgres')('task events on postgres', () => {
  let env: TaskEnv;
  let events: TaskQueueEvents;
  let db: pg.Client;
  const seen: string[] = [];

  const publish = (on: pg.Client, jobId: string) =>
    on.query(`SELECT publish_event($1, 'completed', jsonb_build_object('jobId', $2::text, 'returnvalue', '1', 'prev', 'active')) AS id`, [env.queue, jobId]);

  const client = async () => {
    const c = new pg.Client({ connectionString: env.base.url, options: '-c search_path=bullmq' });
    await c.connect();
    return c;
  };

  beforeAll(async () => {
    env = await createTaskEnv();
    db = await client();
    events = env.backend.queueEvents(env.queue);
    events.on('completed', ({ jobId }) => seen.push(jobId));
    // The reader starts at the newest event: publish until it is listening.
    for (let n = 0; seen.length === 0; n++) {
      if (n === 100) throw new Error('the event reader did not start');
      await publish(db, `ready-${n}`);
      await sleep(100);
    }
  });
  afterAll(async () => {
    await db?.end();
    await env?.close(); // closes `events` with the backend
  });

  it('holds an event back until an earlier-numbered one commits, then delivers both in id order', async () => {
    const slow = await client();
    try {
      await slow.query('BEGIN');
      const late = Number((await publish(slow, 'late')).rows[0].id);
      const early = Number((await publish(db, 'early')).rows[0].id);
      expect(early).toBeGreaterThan(late);
      // Wake the reader now (the open transaction holds BullMQ's NOTIFY lock, so 'early' sent none).
      await db.query(`SELECT pg_notify('bullmq_events', $1)`, [env.queue]);
      await sleep(300);
      expect(seen).not.toContain('early'); // BullMQ's read would have delivered it, and never 'late'
      await slow.query('COMMIT');
      await expect.poll(() => seen.includes('early'), { timeout: 5_000 }).toBe(true);
      expect(seen.filter((id) => id === 'late' || id === 'early')).toEqual(['late', 'early']);
    } finally {
      await slow.end();
    }
  });

  it('gives up on an id whose transaction rolled back, and carries on', async () => {
    const slow = await client();
    try {
      await slow.query('BEGIN');
      await publish(slow, 'rolled-back');
      await publish(db, 'after-rollback');
      await slow.query('ROLLBACK');
      await expect.poll(() => seen.includes('after-rollback'), { timeout: 5_000 }).toBe(true);
      expect(seen).not.toContain('rolled-back');
    } finally {
      await slow.end();
    }
  });

  it('delivers each event once, in order, over many concurrent committers', async () => {
    const clients = await Promise.all(Array.from({ length: 8 }, client));
    try {
      const ids = Array.from({ length: 400 }, (_, i) => `burst-${i}`);
      await Promise.all(clients.map(async (c, k) => {
        for (let i = k; i < ids.length; i += clients.length) await publish(c, ids[i]!);
      }));
      await expect.poll(() => ids.filter((id) => seen.includes(id)).length, { timeout: 10_000 }).toBe(ids.length);
      expect(seen.filter((id) => id.startsWith('burst-'))).toHaveLength(ids.length);
      // Each client's events committed one after another: they arrive in that order.
      for (let k = 0; k < clients.length; k++) {
        const mine = ids.filter((_, i) => i % clients.length === k);
        expect(seen.filter((id) => mine.includes(id))).toEqual(mine);
      }
    } finally {
      await Promise.all(clients.map((c) => c.end()));
    }
  });

  // Last: it drops the index the reader walks (reads still work, by scanning) and restores it.
  it('warns at start on a database migrated before the event index, until `conveyor migrate` adds it', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) });
    const open = async () => (await openTaskBackend(env.base.config, { databaseUrl: env.base.url, poolSize: 2, logger })).close();
    await open();
    expect(lines).toEqual([]);
    await db.query(`DROP INDEX bullmq.${EVENT_ID_INDEX}`);
    await open();
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!).msg).toMatch(/lacks the index conveyor_event_id_idx .*run `conveyor migrate`/);
    await migrateTaskEngine(env.base.url);
    await open();
    expect(lines).toHaveLength(1);
  });
});

describe.runIf(broker() !== 'redis')(`finished tasks in one order on ${broker()}`, () => {
  let env: TaskEnv;
  const ids: string[] = [];
  beforeAll(async () => {
    env = await createTaskEnv();
    await env.startWorker({ concurrency: 8 });
    for (let i = 0; i < 60; i++) ids.push((await env.client.enqueue('t_echo', { value: i })).id);
    for (const id of ids) await env.waitFor(id, ['SUCCESS']);
    // All finished in the same millisecond; rewriting the rows also reshuffles them on disk.
    const db = new pg.Client({ connectionString: env.base.url });
    await db.connect();
    try {
      await db.query(`UPDATE bullmq.job SET finished_at_ms = 1700000000000 WHERE queue = $1 AND state = 'completed'`, [env.queue]);
      await db.query(`UPDATE bullmq.job SET data = data WHERE queue = $1 AND state = 'completed' AND (seq % 3) = 0`, [env.queue]);
    } finally {
      await db.end();
    }
  });
  afterAll(async () => env?.close());

  it('reads the same order whatever the window', async () => {
    // Enough rows that PostgreSQL reads a small window through the index and a large one by
    // sorting, which order ties differently. Stored rows, as BullMQ would leave them.
    const db = new pg.Client({ connectionString: env.base.url });
    await db.connect();
    const queue = 'q_ties';
    try {
      await db.query(
        `INSERT INTO bullmq.job (queue, id, seq, name, state, added_at_ms, finished_at_ms)
         SELECT $1, 'tie-' || g, g, 't_echo', 'completed', 0, 1700000000000 + g / 10 FROM generate_series(1, 1000) AS g`,
        [queue],
      );
      await db.query(`UPDATE bullmq.job SET data = data WHERE queue = $1 AND seq % 3 = 0`, [queue]);
      await db.query('ANALYZE bullmq.job');
      const q = env.backend.queue(queue);
      const all = await q.getRanges(['completed'], 0, -1);
      expect(all).toHaveLength(1000);
      for (const size of [7, 50, 200]) {
        const windows: string[] = [];
        for (let start = 0; start < all.length; start += size) windows.push(...(await q.getRanges(['completed'], start, start + size - 1)));
        expect([size, windows]).toEqual([size, all]);
      }
    } finally {
      await db.query(`DELETE FROM bullmq.job WHERE queue = $1`, [queue]);
      await db.end();
    }
  });

  it('pages through every finished task once', async () => {
    const listed: string[] = [];
    let after: string | undefined;
    do {
      const page = await listTasks({ backend: env.backend, queues: [env.queue] }, { state: 'SUCCESS', limit: 7, ...(after ? { after } : {}) });
      listed.push(...page.data.map((t) => t.id));
      after = page.next ?? undefined;
    } while (after);
    expect(listed).toHaveLength(ids.length);
    expect(new Set(listed)).toEqual(new Set(ids));
  });
});
