/**
 * Database errors in the log: the driver's code, constraint, table and statement, never the
 * statement's parameters (a failed bulk insert once logged every one of its 10,000 names).
 */
import { Writable } from 'node:stream';
import { DrizzleQueryError, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type App } from '../../src/app/build-app.ts';
import { createLogger } from '../../src/lib/logger.ts';
import { NameTaken } from '../../src/modules/items/errors.ts';
import { createItemRepository } from '../../src/modules/items/repository/index.ts';
import { createToken, createUser } from '../../src/modules/accounts/service.ts';
import { createTestData, type TestData } from '../helpers/database.ts';

let t: TestData;
let app: App;
let lines: string[] = [];
const sink = new Writable({
  write(chunk: Buffer, _enc, done) {
    lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    done();
  },
});
const logger = () => createLogger({ LOG_LEVEL: 'info', NODE_ENV: 'test' }, 'test', sink);
const names = (tag: string) => Array.from({ length: 10_000 }, (_, i) => `${tag}-${i}-secret`);
const rows = (list: string[]) => list.map((name) => ({ name, description: `about ${name}`, status: 'active' as const, score: 0 }));

beforeAll(async () => {
  t = await createTestData();
  app = await buildApp(t.config, { database: t.data.database, logger: logger() });
  await app.ready();
});
afterAll(async () => {
  await app?.close();
  await t?.close();
});

describe('logged database errors', () => {
  it('carry code, constraint, table and the statement of a real failed insert, and none of its values', async () => {
    const repo = createItemRepository(t.data.database);
    await repo.insertMany(rows(['dup-log-9999-secret']));
    const err = await repo.insertMany(rows(names('dup-log'))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NameTaken);
    expect((err as Error).cause).toBeInstanceOf(DrizzleQueryError);
    lines = [];
    logger().error({ err }, 'bulk insert failed');
    await new Promise((r) => setImmediate(r));
    const text = lines.join('\n');
    const logged = JSON.parse(lines[0]!).err.cause;
    expect(logged.statement).toMatch(/^\s*insert into "app"\."items"/);
    expect(logged.statement.length).toBeLessThanOrEqual(1_100);
    expect(logged.cause).toMatchObject({ code: '23505', constraint: 'items_name_key', table: 'items', detail: 'Key (name)=([redacted]) already exists.' });
    expect(text).not.toMatch(/dup-log-\d+-secret/);
    expect(text).not.toContain('params');
    expect(text.length).toBeLessThan(10_000);
  });

  it('leave the parameters out of a 500 logged by the HTTP error handler', async () => {
    // A trigger that fails the statement unexpectedly, as a bug or a broken migration would.
    await t.data.database.db.execute(sql.raw(`
      create or replace function app.refuse_in_test() returns trigger language plpgsql as $$
      begin raise exception 'refused by a test trigger' using detail = format('Failing row contains (%s)', new.name); end $$;
      create trigger refuse_in_test before insert on app.items for each row when (new.name like 'boom-%') execute function app.refuse_in_test();`));
    const username = `log-user-${Date.now()}`;
    await createUser(t.data.database.db, { username, password: 'correct horse battery', isStaff: false });
    const { token } = await createToken(t.data.database.db, username);
    lines = [];
    const res = await app.inject({
      method: 'POST', url: '/api/items/bulk',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      payload: JSON.stringify(names('boom').map((name) => ({ name }))),
    });
    expect(res.statusCode).toBe(500);
    await new Promise((r) => setTimeout(r, 300)); // the logger's write batch
    const failure = lines.map((l) => JSON.parse(l)).find((l) => l.err);
    expect(failure).toBeDefined();
    expect(failure.err.cause).toMatchObject({ code: 'P0001', message: 'refused by a test trigger', detail: 'Failing row contains ([redacted])' });
    expect(failure.err.statement).toContain('unnest');
    expect(lines.join('\n')).not.toMatch(/boom-\d+-secret/);
  });
});
