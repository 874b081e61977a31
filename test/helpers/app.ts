/** The app under test: the same buildApp as production, on this file's own database. */
import pino from 'pino';
import { buildApp, type App } from '../../src/app/build-app.ts';
import type { Env } from '../../src/config/index.ts';
import { createToken, createUser } from '../../src/modules/accounts/service.ts';
import { createTestData, type TestData } from './database.ts';

export interface TestApp extends TestData {
  readonly app: App;
  /** Headers of a freshly created user's API token (staff when asked). */
  authHeaders(opts?: { staff?: boolean }): Promise<Record<string, string>>;
}

let users = 0;

export async function createTestApp(env: Partial<Record<keyof Env, string>> = {}, overrides: Partial<Env> = {}): Promise<TestApp> {
  const base = await createTestData(env, overrides);
  const app = await buildApp(base.config, { database: base.data.database, logger: pino({ level: 'silent' }) });
  await app.ready();
  return {
    ...base,
    app,
    async authHeaders(opts = {}) {
      const username = `user${process.pid}_${++users}_${Date.now()}`;
      await createUser(base.data.database.db, { username, password: 'correct horse battery', isStaff: opts.staff ?? false });
      const { token } = await createToken(base.data.database.db, username);
      return { authorization: `Bearer ${token}` };
    },
    close: async () => {
      await app.close();
      await base.close();
    },
  };
}
