/**
 * The OpenAPI document lists exactly the contract's paths: each `METHOD /path` of the HTTP
 * contract's tables with that spelling (no trailing slash, `{id}` params), and nothing else
 * but the extras named here.
 */
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type App } from '../../src/app/build-app.ts';
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
  'POST /api/workflows',
  'GET /api/workflows/{id}',
  'DELETE /api/workflows/{id}',
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
  'GET /dashboard/api/workflows/{id}',
  'POST /dashboard/api/tasks/{id}/revoke',
  'POST /dashboard/api/tasks/{id}/retry',
  'GET /dashboard/api/events',
];

let env: TaskEnv;
let app: App;
let documented: string[];
let doc: { tags: { name: string }[]; paths: Record<string, Record<string, Operation>> };

interface Operation {
  tags?: string[];
  summary?: string;
  description?: string;
  security?: Record<string, string[]>[];
}

beforeAll(async () => {
  env = await createTaskEnv();
  if (env.base.mode === 'postgres' && env.broker !== 'redis') await migrateTaskEngine(env.base.url);
  // Every optional part mounted, as `conveyor serve` mounts it.
  app = await buildApp(env.base.config, { database: env.base.data.database, logger: pino({ level: 'silent' }), tasks: env.client, monitor: env.client });
  await app.ready();
  const res = await app.inject({ url: '/docs/json' });
  expect(res.statusCode).toBe(200);
  doc = res.json();
  const paths = doc.paths;
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

describe('OpenAPI wording and security', () => {
  const operations = () => Object.entries(doc.paths).flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => ({ name: `${method.toUpperCase()} ${path}`, op })));

  it('lists the user security on every write that needs a user, and only on the routes that check one', () => {
    const publicWrites = ['POST /api/auth/login', 'POST /api/auth/logout'];
    const secured = operations().filter(({ op }) => op.security !== undefined).map(({ name }) => name);
    const writes = operations().filter(({ name }) => /^(POST|PUT|PATCH|DELETE) \/api\//.test(name) && !publicWrites.includes(name)).map(({ name }) => name);
    expect(writes.length).toBeGreaterThan(5);
    for (const name of writes) expect(doc.paths[name.split(' ')[1]!]![name.split(' ')[0]!.toLowerCase()]!.security, name).toEqual([{ bearer: [] }, { session: [] }]);
    expect(secured.filter((name) => !writes.includes(name) && !name.includes(' /dashboard/api/'))).toEqual([]);
  });

  it('tags every operation with a declared tag, and speaks Conveyor\'s language', () => {
    const declared = doc.tags.map((t) => t.name);
    expect(declared).not.toContain('seed');
    for (const { name, op } of operations()) {
      expect(op.tags?.length, name).toBe(1);
      expect(declared, name).toContain(op.tags![0]);
      // Django's ORM and view names belong in docs/from-django.md, not in the public document.
      expect(`${op.summary ?? ''} ${op.description ?? ''}`, name).not.toMatch(/\b(a(get|create|update|delete|bulk_\w+|iterator|first|last|exists|count|aggregate|save)|objects\.all|MyModel|seed)\b/i);
    }
  });
});
