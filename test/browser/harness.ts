/**
 * The monitor end to end: the real app (task routes, dashboard, auth) listening on a real
 * port, the real task engine on embedded PostgreSQL with in-process workers, and Debian's
 * Chromium driven by playwright-core. Screenshots go to test-artifacts/screenshots.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { buildApp, type App } from '../../src/app/build-app.ts';
import { createUser } from '../../src/modules/accounts/service.ts';
import { createTaskEnv, type TaskEnv } from '../tasks/harness.ts';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const SCREENSHOTS = path.resolve('test-artifacts/screenshots');

const chromiumArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface MonitorEnv {
  readonly env: TaskEnv;
  readonly app: App;
  readonly baseUrl: string;
  readonly browser: Browser;
  readonly staff: { username: string; password: string };
  readonly member: { username: string; password: string };
  newPage(viewport?: { width: number; height: number }): Promise<{ context: BrowserContext; page: Page; problems: string[] }>;
  close(): Promise<void>;
}

export async function createMonitorEnv(): Promise<MonitorEnv> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const env = await createTaskEnv();
  const app = await buildApp(env.base.config, {
    database: env.base.data.database,
    logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    tasks: env.client,
    monitor: env.client,
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('no TCP address');
  const baseUrl = `http://127.0.0.1:${address.port}`;

  const staff = { username: `ada_${process.pid}`, password: 'correct horse battery staple' };
  const member = { username: `bob_${process.pid}`, password: 'correct horse battery staple' };
  await createUser(env.base.data.database.db, { ...staff, isStaff: true });
  await createUser(env.base.data.database.db, { ...member, isStaff: false });

  const browser = await chromium.launch({ executablePath: CHROMIUM, args: chromiumArgs, headless: true });
  const contexts: BrowserContext[] = [];
  return {
    env,
    app,
    baseUrl,
    browser,
    staff,
    member,
    async newPage(viewport = { width: 1280, height: 800 }) {
      const context = await browser.newContext({ viewport, baseURL: baseUrl });
      contexts.push(context);
      context.setDefaultTimeout(15_000);
      const page = await context.newPage();
      // Console errors include CSP violations: the strict policy must hold on every page.
      const problems: string[] = [];
      page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
      page.on('pageerror', (e) => problems.push(e.message));
      // Aborted requests are the views cancelling their fetches on navigation; the event stream is cut at close.
      page.on('requestfailed', (r) => r.failure()?.errorText !== 'net::ERR_ABORTED' && !r.url().includes('/dashboard/api/events') && problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
      return { context, page, problems };
    },
    async close() {
      await Promise.allSettled(contexts.map((c) => c.close()));
      await browser.close().catch(() => {});
      await app.close();
      await env.close();
    },
  };
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

export async function login(page: Page, user: { username: string; password: string }, next = '/dashboard'): Promise<void> {
  await page.goto(next);
  await page.waitForURL(/\/dashboard\/login\?next=/);
  await page.getByLabel('Username').fill(user.username);
  await page.getByLabel('Password').fill(user.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}
