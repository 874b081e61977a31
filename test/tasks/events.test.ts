/**
 * Live events on PostgreSQL survive out-of-order commits (src/tasks/settled-events.ts):
 * an event whose transaction took its id first but commits after a later one has been
 * read still reaches the listeners. BullMQ's own read skips it for good.
 *
 * PostgreSQL only: PGlite runs one transaction at a time, and Redis streams are ordered.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskQueueEvents } from '../../src/tasks/backend.ts';
import { broker, createTaskEnv, type TaskEnv } from './harness.ts';

describe.runIf(broker() === 'postgres')('task events on postgres', () => {
  let env: TaskEnv;
  let events: TaskQueueEvents;
  let db: pg.Client;
  const seen: string[] = [];

  const publish = (on: pg.Client, jobId: string) =>
    on.query(`SELECT publish_event($1, 'completed', jsonb_build_object('jobId', $2::text, 'returnvalue', '1', 'prev', 'active')) AS id`, [env.queue, jobId]);

  beforeAll(async () => {
    env = await createTaskEnv();
    db = new pg.Client({ connectionString: env.base.url, options: '-c search_path=bullmq' });
    await db.connect();
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

  it('delivers an event committed after a later-numbered one was read', async () => {
    const slow = new pg.Client({ connectionString: env.base.url, options: '-c search_path=bullmq' });
    await slow.connect();
    try {
      await slow.query('BEGIN');
      const late = Number((await publish(slow, 'late')).rows[0].id);
      const early = Number((await publish(db, 'early')).rows[0].id);
      expect(early).toBeGreaterThan(late);
      await expect.poll(() => seen.includes('early'), { timeout: 10_000 }).toBe(true);
      await slow.query('COMMIT');
      await expect.poll(() => seen.includes('late'), { timeout: 10_000 }).toBe(true);
      expect(seen.filter((id) => id === 'late' || id === 'early')).toHaveLength(2); // each once
    } finally {
      await slow.end();
    }
  });

  it('delivers each event once over many concurrent committers', async () => {
    const clients = await Promise.all(
      Array.from({ length: 8 }, async () => {
        const c = new pg.Client({ connectionString: env.base.url, options: '-c search_path=bullmq' });
        await c.connect();
        return c;
      }),
    );
    try {
      const ids = Array.from({ length: 400 }, (_, i) => `burst-${i}`);
      await Promise.all(clients.map(async (c, k) => {
        for (let i = k; i < ids.length; i += clients.length) await publish(c, ids[i]!);
      }));
      await expect.poll(() => ids.filter((id) => seen.includes(id)).length, { timeout: 10_000 }).toBe(ids.length);
      // Past the settle time, nothing is delivered twice by the trailing re-read.
      await sleep(2_500);
      expect(seen.filter((id) => id.startsWith('burst-'))).toHaveLength(ids.length);
    } finally {
      await Promise.all(clients.map((c) => c.end()));
    }
  });
});
