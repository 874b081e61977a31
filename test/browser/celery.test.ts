/**
 * One monitor for both, in Chromium: a Python Celery worker (`celery worker -E`, Redis db 11)
 * and its tasks appear in the dashboard beside Conveyor's, marked Celery. Screenshots:
 * test-artifacts/screenshots/celery-*.png (copied to docs/screenshots).
 */
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import type { Page } from 'playwright-core';
import { startCeleryEvents } from '../../src/tasks/celery/events.ts';
import { assertCelery, celeryUrl, freshRedis, python, startPyWorker, type PyWorker } from '../celery/outbound/harness.ts';
import { createMonitorEnv, login, screenshot, type MonitorEnv } from './harness.ts';

const DB = 11;
const HOST = 'py1@billing-host';
let m: MonitorEnv;
let redis: Redis;
let events: { stop(): Promise<void>; ready: Promise<void> };
let py: PyWorker;
let page: Page;
let problems: string[];
let ids: string[];

beforeAll(async () => {
  assertCelery();
  redis = await freshRedis(DB);
  m = await createMonitorEnv();
  events = startCeleryEvents({ brokerUrl: celeryUrl(DB), resultUrl: celeryUrl(DB), readBackMs: 1_000, database: m.env.base.data.database, logger: pino({ level: 'silent' }), ttlSeconds: 3600 });
  await events.ready;
  await m.env.startWorker({ concurrency: 2 });
  py = await startPyWorker(DB, { hostname: HOST });
  ids = JSON.parse(
    python(DB, [
      'import json',
      'from proj.tasks import app',
      "rs = [app.send_task('proj.tasks.mul', args=[i, 7]) for i in range(1, 4)] + [app.send_task('proj.tasks.fail', args=['card declined'])]",
      'for r in rs: r.get(timeout=10, propagate=False)',
      'print(json.dumps([r.id for r in rs]))',
    ].join('\n')),
  ) as string[];
  ({ page, problems } = await m.newPage());
  await login(page, m.staff);
  await page.waitForURL(/\/dashboard$/);
});

afterAll(async () => {
  await py?.stop();
  await events?.stop();
  await m?.close();
  await redis?.flushdb().catch(() => undefined);
  redis?.disconnect();
});

describe('the dashboard with a Celery cluster', () => {
  it('lists the Python Celery worker beside the Conveyor worker, marked Celery', async () => {
    await page.goto('/dashboard/workers');
    const row = page.locator('tbody tr', { hasText: HOST });
    await expect.poll(() => row.locator('.badge.online').count(), { timeout: 15_000 }).toBe(1);
    expect(await row.locator('.badge.celery').textContent()).toBe('Celery');
    expect(await row.textContent()).toMatch(/load \d/);
    await expect.poll(() => page.locator('tbody tr .badge.online').count(), { timeout: 10_000 }).toBe(2);
    await screenshot(page, 'celery-workers');
  });

  it('shows Celery tasks with their outcome, and one in detail', async () => {
    // The events trail Python's results a little (and -P threads loses some task-succeeded, which
    // the result backend's read-back makes up for): the page is drawn once all are recorded.
    await expect.poll(async () => (await m.env.client.listTasks({ search: 'proj.tasks' })).data.filter((t) => t.state === 'SUCCESS' || t.state === 'FAILURE').length, { timeout: 15_000 }).toBe(4);
    await page.goto('/dashboard/tasks?search=proj.tasks');
    await expect.poll(() => page.locator('tbody tr .badge.celery').count(), { timeout: 15_000 }).toBe(4);
    await expect.poll(() => page.locator('tbody tr .badge.SUCCESS').count(), { timeout: 15_000 }).toBe(3);
    expect(await page.locator('tbody tr .badge.FAILURE').count()).toBe(1);
    // Only seen in the events: Conveyor cannot send it again, so no Retry button.
    expect(await page.getByRole('button', { name: /Retry task/ }).count()).toBe(0);
    await screenshot(page, 'celery-tasks');
    await page.goto(`/dashboard/tasks/${ids[3]}`);
    await expect.poll(() => page.locator('#task-origin').textContent(), { timeout: 10_000 }).toBe(`Python Celery (${HOST})`);
    expect(await page.locator('h1 .badge.celery').count()).toBe(1);
    expect(await page.textContent('main')).toContain('proj.tasks.Boom: card declined');
    await screenshot(page, 'celery-task-detail');
    await page.goto('/dashboard');
    await expect.poll(() => page.locator('.badge.celery').count(), { timeout: 10_000 }).toBeGreaterThanOrEqual(1);
    await screenshot(page, 'celery-overview');
    expect(problems, 'no console errors or CSP violations').toEqual([]);
  });
});
