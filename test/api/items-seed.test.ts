/** `conveyor seed --items N`, run as the child process a user would start. */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { count, like } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import type { Db } from '../../src/db/client.ts';
import { openData } from '../../src/db/runtime.ts';
import { items } from '../../src/modules/items/table.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { testDbMode } from '../helpers/database.ts';

const cli = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));

let t: TestApp;
let scratch: string;
beforeAll(async () => {
  t = await createTestApp();
  // The child runs from an empty folder so no developer's .env can redirect it.
  scratch = mkdtempSync(path.join(os.tmpdir(), 'conveyor-seed-test-'));
});
afterAll(async () => {
  await t?.close();
  rmSync(scratch, { recursive: true, force: true });
});

interface Run { code: number; stdout: string; stderr: string }

function seed(args: string[], env: Record<string, string>): Promise<Run> {
  const base = { ...process.env };
  delete base.DATABASE_URL;
  delete base.REDIS_URL;
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, 'seed', ...args], { cwd: scratch, env: { ...base, LOG_LEVEL: 'warn', ...env }, timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** Where this file's database is, for a child: its server URL, or the DATA_DIR the test app holds open. */
const target = (): Record<string, string> => (t.mode === 'postgres' ? { DATABASE_URL: t.url } : { DATA_DIR: t.config.dataDir });

async function seededCount(db: Db): Promise<number> {
  const [row] = await db.select({ n: count() }).from(items).where(like(items.name, 'item-%'));
  return row!.n;
}

describe('conveyor seed', () => {
  it('inserts N items with unique names, reporting progress on stderr', async () => {
    const before = await seededCount(t.data.database.db);
    const run = await seed(['--items', '2000', '--batch', '700'], target());
    expect(run.stderr).not.toContain('unexpected');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/inserted 2000 items/);
    expect(run.stderr).toContain('seed: 2000/2000 items (100%)');
    expect(await seededCount(t.data.database.db)).toBe(before + 2000);

    const again = await seed(['--items', '1500'], target());
    expect(again.code).toBe(0);
    expect(await seededCount(t.data.database.db)).toBe(before + 3500);
  });

  it('makes items the API serves, with valid fields', async () => {
    const page = (await t.app.inject({ url: '/api/items?limit=50' })).json() as { data: { name: string; status: string; score: number; description: string }[] };
    const seeded = page.data.filter((i) => i.name.startsWith('item-'));
    expect(seeded.length).toBeGreaterThan(0);
    for (const item of seeded) {
      expect(['active', 'inactive']).toContain(item.status);
      expect(Number.isFinite(item.score)).toBe(true);
      expect(item.description.length).toBeGreaterThan(0);
    }
  });

  it('refuses a bad --items with exit code 1 and says why', async () => {
    for (const bad of [['--items', '0'], ['--items', 'lots'], []]) {
      const run = await seed(bad, target());
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/--items/);
    }
  });

  it('fails with exit code 1 and one clear line when the database cannot be reached', async () => {
    const run = await seed(['--items', '10'], { DATABASE_URL: 'postgresql://postgres@127.0.0.1:1/nowhere' });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('conveyor: cannot use the database 127.0.0.1:1/nowhere (DATABASE_URL)');
    expect(run.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it.runIf(testDbMode() === 'embedded')('opens a DATA_DIR itself when no conveyor serve runs', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'conveyor-seed-dir-'));
    try {
      const run = await seed(['--items', '2500'], { DATA_DIR: dataDir });
      expect(run.code).toBe(0);
      const data = await openData(loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent' }), { command: 'test', requireOwnership: true, poolSize: 2 });
      try {
        expect(await seededCount(data.database.db)).toBe(2500);
      } finally {
        await data.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
