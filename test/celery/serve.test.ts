/**
 * `conveyor serve` as the composition root wires it, in embedded mode (Conveyor's own
 * PostgreSQL, BullMQ on it): its in-process worker consumes Celery messages too, and shuts
 * down in order — the consumer first, then the worker, the result writer, queues, database.
 * Redis db 7, queue `served` (priority.test.ts uses `conveyor` on the same database).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import { runSteps } from '../../src/lib/shutdown.ts';
import { startHttp } from '../../src/server/serve.ts';
import { buildRuntime } from '../../src/server/runtime.ts';
import { redisUrl } from '../tasks/harness.ts';
import { pyClient } from './helpers.ts';

const QUEUE = 'served';

describe('serve with CELERY_BROKER_URL (embedded mode)', () => {
  it('runs Celery messages in its worker and stops the consumer first', async () => {
    const broker = `${redisUrl()}/7`;
    const redis = new Redis(broker);
    await redis.del(QUEUE, `${QUEUE}\x06\x163`, `${QUEUE}\x06\x166`, `${QUEUE}\x06\x169`);
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'cvt-celery-serve-'));
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    const config = loadConfig({
      NODE_ENV: 'test', LOG_LEVEL: 'silent', DATA_DIR: dataDir, PORT: String(port), TASK_MODULES: './test/celery/fixtures/tasks.ts',
      CELERY_BROKER_URL: broker, CELERY_QUEUES: QUEUE,
    });
    const rt = await buildRuntime('serve', { command: 'serve', config, logger: pino({ level: 'silent' }) }, { worker: true });
    const steps = await startHttp(rt, { watchWorkers: false });
    try {
      // Nothing taken from Celery is left half done: the event and result followers stop, then
      // the consumer (finishing its hand-overs), then the worker; the Celery connections last.
      expect(steps.map((s) => s.name)).toEqual(['http', 'celery events', 'celery result follower', 'celery consumer', 'worker', 'celery results', 'queues', 'celery broker', 'database']);
      const py = pyClient(broker, QUEUE);
      const [sent] = await py<{ id: string }>([{ op: 'delay', name: 'proj.tasks.add', args: [20], kwargs: { b: 22 } }]);
      const [got] = await py<{ ok: boolean; result?: unknown }>([{ op: 'get', id: sent!.id, timeout: 30 }]);
      expect(got).toEqual({ ok: true, result: 42 });
      expect(await rt.tasks!.getTask(sent!.id)).toMatchObject({ state: 'SUCCESS', origin: 'celery', result: 42 });

      // Revoked in Conveyor while it waits for its countdown: Python's get() raises TaskRevokedError.
      const [later] = await py<{ id: string }>([{ op: 'send', name: 'proj.tasks.add', args: [1, 2], options: { countdown: 60 } }]);
      await expect.poll(async () => (await rt.tasks!.getTask(later!.id))?.state, { timeout: 15_000 }).toBe('PENDING');
      await rt.tasks!.revoke(later!.id);
      const [revoked] = await py<{ ok: boolean; exc_type?: string }>([{ op: 'get', id: later!.id, timeout: 10 }]);
      expect(revoked).toMatchObject({ ok: false, exc_type: 'TaskRevokedError' });
    } finally {
      await runSteps(steps, pino({ level: 'silent' }));
      redis.disconnect();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
