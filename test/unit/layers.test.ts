/**
 * Each layering rule of .dependency-cruiser.mjs (what `npm run lint` enforces) fails when
 * broken: a tiny tree shaped like src/ passes every rule, and each case adds one import
 * that breaks exactly one rule. `npm run lint` itself checks the real tree.
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { cruise, type ICruiseResult, type IForbiddenRuleType } from 'dependency-cruiser';
import { afterAll, describe, expect, it } from 'vitest';

const configUrl = new URL('../../.dependency-cruiser.mjs', import.meta.url).href;
const { forbidden } = ((await import(configUrl)) as { default: { forbidden: IForbiddenRuleType[] } }).default;

/** A tree that keeps every rule: one file per layer, wired the way src/ is. */
const baseline: Record<string, string> = {
  'src/lib/a.ts': 'export const a = 1;',
  'src/config/index.ts': "import { a } from '../lib/a.ts';\nexport const c = a;",
  'src/db/client.ts': "import { c } from '../config/index.ts';\nexport const d = c;",
  'src/db/schema.ts': "export * from '../modules/items/table.ts';",
  'src/modules/items/table.ts': "import { d } from '../../db/client.ts';\nexport const t = d;",
  'src/modules/items/repository/statements.ts': 'export const s = 1;',
  'src/modules/items/repository/index.ts': "import { s } from './statements.ts';\nexport const repo = s;",
  'src/modules/items/service.ts': "import { repo } from './repository/index.ts';\nimport { h } from '../../http/errors.ts';\nimport { e } from '../../tasks/engine.ts';\nexport const svc = repo + h + e;",
  'src/http/errors.ts': "import { a } from '../lib/a.ts';\nexport const h = a;",
  'src/tasks/engine.ts': "import { d } from '../db/client.ts';\nexport const e = d;",
  'src/app/build-app.ts': "import 'fastify';\nimport { svc } from '../modules/items/service.ts';\nexport const app = svc;",
  'src/server/serve.ts': "export const load = () => import('../app/build-app.ts');",
  'src/server/worker.ts': "import { e } from '../tasks/engine.ts';\nexport const w = e;",
  'src/server/sandbox-child.ts': "import { e } from '../tasks/engine.ts';\nexport const child = e;",
  'src/commands/worker.ts': "export const run = () => import('../server/worker.ts');",
  'node_modules/fastify/package.json': '{ "name": "fastify", "main": "index.js" }',
  'node_modules/fastify/index.js': 'module.exports = {};',
};

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

async function violations(changes: Record<string, string>): Promise<string[]> {
  const dir = mkdtempSync(path.join(tmpdir(), 'conveyor-layers-'));
  dirs.push(dir);
  for (const [file, text] of Object.entries({ ...baseline, ...changes })) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), text);
  }
  const { output } = await cruise(
    ['src'],
    { baseDir: dir, ruleSet: { forbidden }, validate: true, doNotFollow: { path: '^node_modules/' }, tsPreCompilationDeps: true },
    { extensions: ['.ts', '.js'] },
  );
  const result = output as ICruiseResult;
  return [...new Set(result.summary.violations.map((v) => v.rule.name))].sort();
}

describe('the layering rules', () => {
  it('pass a tree that keeps them', async () => {
    expect(await violations({})).toEqual([]);
  });

  const cases: [rule: string, change: Record<string, string>][] = [
    ['lib-is-a-leaf', { 'src/lib/bad.ts': "import '../db/client.ts';" }],
    ['config-imports-only-lib', { 'src/config/bad.ts': "import '../db/client.ts';" }],
    ['db-imports-only-config-and-lib', { 'src/db/bad.ts': "import '../tasks/engine.ts';" }],
    ['db-schema-gathers-tables-only', { 'src/db/schema.ts': "export * from '../modules/items/table.ts';\nexport * from '../modules/items/service.ts';" }],
    ['engine-knows-no-domain', { 'src/tasks/bad.ts': "import '../modules/items/service.ts';" }],
    ['http-kit-is-shared', { 'src/http/bad.ts': "import '../modules/items/service.ts';" }],
    ['modules-below-the-app', { 'src/modules/items/bad.ts': "import '../../app/build-app.ts';" }],
    ['app-below-processes', { 'src/app/bad.ts': "import '../server/serve.ts';" }],
    ['items-repository-is-one', { 'src/modules/items/bad.ts': "import './repository/statements.ts';" }],
    ['worker-never-loads-http', { 'src/tasks/engine.ts': "import 'fastify';\nimport { d } from '../db/client.ts';\nexport const e = d;" }],
    ['worker-never-loads-http', { 'src/server/worker.ts': "export const later = () => import('../app/build-app.ts');" }],
    ['worker-never-loads-http', { 'src/server/sandbox-child.ts': "import '../http/errors.ts';" }],
    ['no-circular', { 'src/lib/a.ts': "import { b } from './b.ts';\nexport const a = b;", 'src/lib/b.ts': "import { a } from './a.ts';\nexport const b = () => a;" }],
  ];
  it.each(cases)('%s fails when broken', async (rule, change) => {
    expect(await violations(change)).toEqual([rule]);
  });

  it('let a cycle through type-only imports pass: Node strips them before loading', async () => {
    const change = { 'src/lib/a.ts': "import type { B } from './b.ts';\nexport type A = B | 1;", 'src/lib/b.ts': "import type { A } from './a.ts';\nexport type B = A | 2;" };
    expect(await violations(change)).toEqual([]);
  });
});
