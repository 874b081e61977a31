import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { chain, chord, group } from '../../src/tasks/index.ts';
import { createMonitorEnv, login, screenshot, type MonitorEnv } from './harness.ts';

let m: MonitorEnv;
let worker: { close(): Promise<void> };
let page: Page;
let problems: string[];
let staffHeaders: Record<string, string>;

beforeAll(async () => {
  m = await createMonitorEnv();
  worker = await m.env.startWorker({ concurrency: 4 });
  ({ page, problems } = await m.newPage());
  staffHeaders = { ...(await m.env.authHeaders({ staff: true })).headers, 'content-type': 'application/json' };
});
afterAll(async () => {
  await m?.close();
});

async function enqueue(name: string, args: unknown): Promise<string> {
  const res = await fetch(`${m.baseUrl}/api/tasks`, { method: 'POST', headers: staffHeaders, body: JSON.stringify({ name, args }) });
  expect(res.status).toBe(202);
  return ((await res.json()) as { task_id: string }).task_id;
}

describe('the monitor in a browser', () => {
  it('sends anonymous visitors to the login page and lets staff in', async () => {
    await login(page, m.staff);
    await page.waitForURL(`${m.baseUrl}/dashboard`);
    await expect.poll(() => page.locator('#whoami').textContent(), { timeout: 15_000 }).toBe(m.staff.username);
    await expect.poll(() => page.locator('#live').textContent(), { timeout: 10_000 }).toBe('Live');
    await expect.poll(() => page.getByText('Workers online').first().isVisible(), { timeout: 15_000 }).toBe(true);
    // uPlot drew both charts from our own assets
    await expect.poll(() => page.locator('.uplot').count(), { timeout: 15_000 }).toBe(2);
  });

  it('shows a task enqueued over the API appear and turn SUCCESS live, then its detail', async () => {
    await page.getByRole('link', { name: 'Tasks', exact: true }).click();
    await page.waitForURL(/\/dashboard\/tasks$/);
    await expect.poll(() => page.locator('.table-wrap table').count(), { timeout: 15_000 }).toBe(1);
    const navigations: string[] = [];
    page.on('framenavigated', (f) => f === page.mainFrame() && navigations.push(f.url()));

    const id = await enqueue('t_echo', { value: 42 });
    const row = page.locator(`tr[data-task="${id}"]`);
    await row.waitFor({ timeout: 15_000 });
    await expect.poll(() => row.locator('.badge').textContent(), { timeout: 15_000 }).toBe('SUCCESS');
    expect(navigations, 'updated without a reload').toEqual([]);
    await screenshot(page, 'tasks');

    await row.getByRole('link').click();
    await page.waitForURL(new RegExp(`/dashboard/tasks/${id}$`));
    await expect.poll(() => page.locator('#task-result').textContent(), { timeout: 15_000 }).toContain('"value": 42');
    expect(await page.getByRole('heading', { name: 'Timeline' }).isVisible()).toBe(true);
    expect(await page.locator('ol.timeline li').count()).toBeGreaterThanOrEqual(3);
    await screenshot(page, 'task-detail');
  });

  it('searches tasks by argument text', async () => {
    const id = await enqueue('t_echo', { value: 987654 });
    await m.env.waitFor(id, ['SUCCESS']);
    await page.goto('/dashboard/tasks');
    await page.getByLabel('Search').fill('987654');
    await page.getByLabel('Search').press('Enter');
    await page.waitForURL(/search=987654/);
    await page.locator(`tr[data-task="${id}"]`).waitFor();
    expect(await page.locator('tbody tr').count()).toBe(1);
  });

  it('revokes a running task with the CSRF-protected action', async () => {
    const id = await enqueue('t_sleep', { ms: 60_000 });
    await m.env.waitFor(id, ['STARTED']);
    await page.goto(`/dashboard/tasks/${id}`);
    await expect.poll(() => page.locator('#task-state').textContent(), { timeout: 15_000 }).toBe('STARTED');
    const revoke = page.getByRole('button', { name: `Revoke task ${id}` });
    await revoke.focus();
    await page.keyboard.press('Enter'); // keyboard, not just the mouse
    await expect.poll(() => page.locator('#task-state').textContent(), { timeout: 15_000 }).toBe('REVOKED');
    await screenshot(page, 'task-revoked');

    // the same action without the CSRF header is refused
    const cookies = await page.context().cookies();
    const cookie = cookies.map((c) => `${c.name}=${c.value}`).join('; ');
    const other = await m.env.client.enqueue('t_sleep', { ms: 60_000 });
    const res = await fetch(`${m.baseUrl}/dashboard/api/tasks/${other.id}/revoke`, { method: 'POST', headers: { cookie } });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('forbidden');
    await m.env.client.revoke(other.id);
  });

  it('shows the workers and one going offline after its last heartbeat', async () => {
    const leaving = await m.env.startWorker({ concurrency: 2 });
    await page.goto('/dashboard/workers');
    await expect.poll(() => page.locator('tbody tr .badge.online').count(), { timeout: 10_000 }).toBe(2);
    await screenshot(page, 'workers');
    await leaving.close();
    await expect.poll(() => page.locator('tbody tr .badge.offline').count(), { timeout: 20_000 }).toBe(1);
    expect(await page.locator('tbody tr .badge.online').count()).toBe(1);
    await screenshot(page, 'workers-offline');
  });

  it('draws the overview from the persisted history', async () => {
    // a mixed minute: successes of varied runtimes, retries and failures
    const ids = await Promise.all([
      ...Array.from({ length: 12 }, (_, i) => enqueue('t_sleep', { ms: 20 + i * 40 })),
      ...Array.from({ length: 3 }, () => enqueue('t_flaky', { failTimes: 1 })),
      ...Array.from({ length: 2 }, () => enqueue('t_fatal', {})),
    ]);
    for (const id of ids) await m.env.waitFor(id, ['SUCCESS', 'FAILURE']);
    await page.goto('/dashboard');
    await expect.poll(async () => Number(await page.locator('.stat.ok .value').nth(1).textContent()), { timeout: 20_000 }).toBeGreaterThanOrEqual(14);
    await screenshot(page, 'overview');
    expect(problems, 'no console errors or CSP violations').toEqual([]);
  });

  it('is readable on a phone', async () => {
    const phone = await m.newPage({ width: 390, height: 844 });
    await login(phone.page, m.staff, '/dashboard/tasks');
    await phone.page.waitForURL(/\/dashboard\/tasks$/);
    await phone.page.locator('tbody tr').first().waitFor();
    const overflow = await phone.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow, 'no sideways scrolling of the page').toBeLessThanOrEqual(0);
    await screenshot(phone.page, 'tasks-phone');
    await phone.page.goto('/dashboard');
    await expect.poll(() => phone.page.locator('.uplot').count(), { timeout: 15_000 }).toBe(2);
    await screenshot(phone.page, 'overview-phone');
    expect(phone.problems).toEqual([]);
  });

  it('answers the API in the contract\'s error shape: 401 anonymous, 403 non-staff', async () => {
    const anon = await fetch(`${m.baseUrl}/dashboard/api/overview`);
    expect(anon.status).toBe(401);
    expect(await anon.json()).toMatchObject({ error: { code: 'unauthenticated' }, request_id: expect.any(String) });
    const member = await m.env.authHeaders({ staff: false });
    const denied = await fetch(`${m.baseUrl}/dashboard/api/tasks`, { headers: member.headers });
    expect(denied.status).toBe(403);
    expect(await denied.json()).toMatchObject({ error: { code: 'forbidden' } });
    // a signed-in non-staff browser gets an explanation, not the dashboard
    const other = await m.newPage();
    await login(other.page, m.member);
    await expect.poll(() => other.page.getByRole('heading', { name: 'Staff only' }).isVisible(), { timeout: 15_000 }).toBe(true);
    await screenshot(other.page, 'staff-only');
  });

  it('draws a workflow as a graph whose nodes turn green live, each linked to its task, which links back', async () => {
    const { add, sum, fatal } = m.env.tasks;
    const header = Array.from({ length: 6 }, (_, i) => add.s({ n: i + 1, ms: 400 + i * 150 }));
    const { id, tasks } = await m.env.client.workflow(chain(add.s({ n: 0 }), chord(header, sum.s({}))));
    await page.goto(`/dashboard/workflows/${id}`);
    await page.locator('svg.workflow-graph a.node').first().waitFor();
    expect(await page.locator('svg.workflow-graph a.node').count()).toBe(8);
    expect(await page.locator('svg.workflow-graph path.edge').count()).toBe(6 + 6);
    await expect.poll(() => page.locator('svg.workflow-graph a.node.STARTED').count(), { timeout: 10_000 }).toBeGreaterThan(0);
    await screenshot(page, 'workflow-running');
    await expect.poll(() => page.locator('svg.workflow-graph a.node.SUCCESS').count(), { timeout: 20_000 }).toBe(8);
    await expect.poll(() => page.locator('#workflow-state .badge').textContent(), { timeout: 5_000 }).toBe('SUCCESS');
    await screenshot(page, 'workflow');
    await page.locator(`a.node[data-task="${tasks.at(-1)}"]`).click();
    await page.waitForURL(new RegExp(`/dashboard/tasks/${tasks.at(-1)}$`));
    await expect.poll(() => page.locator('#task-workflow').textContent(), { timeout: 10_000 }).toBe(id);
    // A failed step and what it took with it.
    const failed = await m.env.client.workflow(chain(add.s({ n: 1 }), fatal.s({}), group(add.s({ n: 1 }), add.s({ n: 2 }))));
    await page.goto(`/dashboard/workflows/${failed.id}`);
    await expect.poll(() => page.locator('#workflow-state .badge').textContent(), { timeout: 20_000 }).toBe('FAILURE');
    await expect.poll(() => page.locator('svg.workflow-graph a.node.REVOKED').count(), { timeout: 10_000 }).toBe(2);
    await screenshot(page, 'workflow-failed');
    expect(problems, 'no console errors or CSP violations').toEqual([]);
  });

  it('shows why a task waits: its rate limit', async () => {
    // One start in 20 s: of two tasks, the one that does not start first waits 20 s with its
    // reason on the row, long enough to be looked at on a loaded machine.
    const ids = [await enqueue('t_rare', { i: 1 }), await enqueue('t_rare', { i: 2 })];
    let waiting: string | undefined;
    await expect.poll(async () => {
      for (const id of ids) {
        const t = await m.env.client.getTask(id);
        if (t?.waiting?.startsWith('rate limit')) waiting = id;
      }
      return waiting;
    }, { timeout: 15_000 }).toBeDefined();
    await page.goto(`/dashboard/tasks/${waiting}`);
    await expect.poll(() => page.locator('#task-waiting').textContent().catch(() => null), { timeout: 15_000 }).toMatch(/rate limit: 1 per 20000 ms/);
    await screenshot(page, 'task-waiting');
    await m.env.client.revoke(waiting!);
  });

  it('warns on the overview when a queue has no worker, and the warning goes once one is back', async () => {
    await page.goto('/dashboard');
    const banner = page.getByRole('alert').filter({ hasText: 'No worker is running' });
    expect(await banner.count()).toBe(0);
    await worker.close(); // this suite's last worker: its heartbeat goes stale within seconds
    await banner.waitFor({ timeout: 20_000 });
    expect(await banner.textContent()).toMatch(/No worker is running for "default", ".*"\. Tasks sent there wait in PENDING/);
    await screenshot(page, 'overview-no-worker');
    worker = await m.env.startWorker({ concurrency: 1 });
    await banner.waitFor({ state: 'detached', timeout: 20_000 });
  });
});
