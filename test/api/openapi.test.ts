/**
 * The OpenAPI document lists exactly the contract's paths: each `METHOD /path` of the HTTP
 * contract's tables with that spelling (no trailing slash, `{id}` params), and nothing else
 * but the extras named here.
 */
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type App } from '../../src/app/build-app.ts';
import { taskMonitor } from '../../src/modules/tasks/monitor.ts';
import { migrateTaskEngine } from '../../src/tasks/backend.ts';
import { createTaskEnv, type TaskEnv } from '../tasks/harness.ts';

/** Copied from the HTTP contract's tables (v1), in its order. */
const CONTRACT = [
  'GET /api/items',
  'GET /api/items/{id}',
  'POST /api/items',
  'PATCH /api/items/{id}',
  'DELETE /api/items/{id}',
  'GET /api/items/first-last',
  'GET /api/items/exists',
  'GET /api/items/count',
  'GET /api/items/aggregate',
  'POST /api/items/get-or-create',
  'POST /api/items/update-or-create',
  'POST /api/items/bulk',
  'PATCH /api/items/bulk',
  'GET /api/items/stream',
  'GET /api/external',
  'GET /api/file',
  'POST /api/tasks',
  'GET /api/tasks/{id}',
  'DELETE /api/tasks/{id}',
  'GET /api/tasks',
  'GET /api/tasks/{id}/events',
  // POST /api/workflows, GET /api/workflows/{id} and DELETE /api/workflows/{id} are in the
  // contract too; they arrive with the workflows issue, and belong in this list then.
  'POST /api/auth/login',
  'POST /api/auth/logout',
  'GET /api/auth/me',
  'GET /healthz',
  'GET /readyz',
  'GET /metrics',
];

/**
 * In the contract's Operations table but not API operations: /docs is this document and its
 * page, /dashboard the monitor's HTML pages.
 */
const CONTRACT_PAGES = ['GET /docs', 'GET /dashboard'];

/** Documented beyond the contract: the monitor's JSON and SSE API (staff only). */
const EXTRAS = [
  'GET /dashboard/api/overview',
  'GET /dashboard/api/workers',
  'GET /dashboard/api/queues',
  'GET /dashboard/api/tasks',
  'GET /dashboard/api/tasks/{id}',
  'POST /dashboard/api/tasks/{id}/revoke',
  'POST /dashboard/api/tasks/{id}/retry',
  'GET /dashboard/api/events',
];

let env: TaskEnv;
let app: App;
let documented: string[];

beforeAll(async () => {
  env = await createTaskEnv();
  if (env.base.mode === 'postgres' && env.broker !== 'redis') await migrateTaskEngine(env.base.url);
  // Every optional part mounted, as `conveyor serve` mounts it.
  app = await buildApp(env.base.config, { database: env.base.data.database, logger: pino({ level: 'silent' }), tasks: env.client, monitor: taskMonitor(env.client) });
  await app.ready();
  const res = await app.inject({ url: '/docs/json' });
  expect(res.statusCode).toBe(200);
  const paths = res.json().paths as Record<string, Record<string, unknown>>;
  documented = Object.entries(paths).flatMap(([path, ops]) => Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`));
});
afterAll(async () => {
  await app?.close();
  await env?.close();
});

describe('OpenAPI paths', () => {
  it('lists every path and method of the contract, spelled exactly as the contract spells it', () => {
    expect(CONTRACT.filter((op) => !documented.includes(op))).toEqual([]);
  });

  it('lists nothing the contract lacks except the documented extras', () => {
    const known = new Set([...CONTRACT, ...CONTRACT_PAGES, ...EXTRAS]);
    expect(documented.filter((op) => !known.has(op))).toEqual([]);
  });

  it('serves the contract\'s pages outside the document', async () => {
    for (const op of CONTRACT_PAGES) {
      const res = await app.inject({ url: op.split(' ')[1]! });
      expect(res.statusCode, op).toBeLessThan(400);
    }
  });
});
