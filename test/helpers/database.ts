/**
 * A fresh, migrated database per test file, in the mode the vitest project selects:
 * the embedded PostgreSQL in a temp DATA_DIR, or a new database on the PostgreSQL server
 * (TEST_DATABASE_URL). An unreachable server fails the run; nothing is skipped.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { loadConfig, type Config, type Env } from '../../src/config/index.ts';
import { migrateApp } from '../../src/db/migrate.ts';
import { openData, type DataRuntime } from '../../src/db/runtime.ts';

export type TestDbMode = 'embedded' | 'postgres';
export const testDbMode = (): TestDbMode => (process.env.CONVEYOR_TEST_DB === 'postgres' ? 'postgres' : 'embedded');
export const serverUrl = () => process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';

export interface TestData {
  readonly mode: TestDbMode;
  readonly config: Config;
  readonly data: DataRuntime;
  /** A connection string for this test file's database (for child processes). */
  readonly url: string;
  close(): Promise<void>;
}

/** Create a database named after the test, migrated; returns its URL and a dropper. */
export async function createServerDatabase(prefix = 'conveyor_test'): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl(), connectionTimeoutMillis: 5_000 });
  try {
    await admin.connect();
  } catch (err) {
    throw new Error(`PostgreSQL at ${serverUrl()} is not reachable (set TEST_DATABASE_URL): ${(err as Error).message}`, { cause: err });
  }
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(serverUrl());
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: serverUrl() });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

export async function createTestData(env: Partial<Record<keyof Env, string>> = {}, overrides: Partial<Env> = {}): Promise<TestData> {
  const mode = testDbMode();
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'conveyor-test-'));
  const base = { NODE_ENV: 'test', LOG_LEVEL: 'silent', DATA_DIR: dataDir, ...env };
  if (mode === 'embedded') {
    const config = loadConfig(base, overrides);
    const data = await openData(config, { command: 'test', requireOwnership: true, poolSize: 10 });
    return {
      mode, config, data, url: data.url,
      close: async () => {
        await data.close();
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  }
  const db = await createServerDatabase();
  const config = loadConfig({ ...base, DATABASE_URL: db.url }, overrides);
  const data = await openData(config, { command: 'test', poolSize: 10, migrate: false });
  await migrateApp(data.database);
  return {
    mode, config, data, url: db.url,
    close: async () => {
      await data.close();
      await db.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
