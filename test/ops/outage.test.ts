import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type App } from '../../src/app/build-app.ts';
import { loadConfig } from '../../src/config/index.ts';
import { isDatabaseUnavailable } from '../../src/db/errors.ts';
import { migrateApp } from '../../src/db/migrate.ts';
import { openData, type DataRuntime } from '../../src/db/runtime.ts';
import { createServerDatabase } from '../helpers/database.ts';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.ts';

let proxy: TcpProxy;
let db: { url: string; drop(): Promise<void> };
let data: DataRuntime;
let app: App;

beforeAll(async () => {
  db = await createServerDatabase();
  const real = new URL(db.url);
  proxy = await startTcpProxy({ host: real.hostname, port: Number(real.port || 5432) });
  const viaProxy = Object.assign(new URL(db.url), { port: String(proxy.port) }).toString();
  const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', DATABASE_URL: viaProxy, DB_UNAVAILABLE_TIMEOUT_MS: '1000' });
  data = await openData(config, { command: 'test', poolSize: 4, migrate: false });
  await migrateApp(data.database);
  app = await buildApp(config, { database: data.database, logger: pino({ level: 'silent' }) });
  await app.ready();
});

afterAll(async () => {
  await app?.close();
  await data?.close();
  await proxy?.close();
  await db?.drop();
});

describe('while PostgreSQL is unreachable', () => {
  it('answers 503 unavailable instead of hanging, names the database in /readyz, and recovers by itself', async () => {
    expect((await app.inject('/api/items/1')).statusCode).toBe(404); // reachable: the item just does not exist
    expect((await app.inject('/readyz')).statusCode).toBe(200);

    await proxy.cut();
    for (let i = 0; i < 3; i++) {
      const started = Date.now();
      const res = await app.inject('/api/items/1');
      expect(res.statusCode).toBe(503);
      expect(res.json()).toMatchObject({ error: { code: 'unavailable' }, request_id: expect.any(String) });
      expect(res.body).not.toMatch(/ECONNREFUSED|select|stack/i);
      // Bounded by the connect timeout (1 s here), not by a hung socket.
      expect(Date.now() - started).toBeLessThan(10_000);
    }
    const ready = await app.inject('/readyz');
    expect(ready.statusCode).toBe(503);
    expect(ready.json()).toMatchObject({ status: 'unavailable', checks: { database: { ok: false } } });
    expect((await app.inject('/healthz')).statusCode).toBe(200); // the process itself is alive

    await proxy.restore();
    let status = 0;
    for (let i = 0; i < 20 && status !== 404; i++) {
      status = (await app.inject('/api/items/1')).statusCode;
      if (status !== 404) await new Promise((r) => setTimeout(r, 250));
    }
    expect(status).toBe(404);
    expect((await app.inject('/readyz')).statusCode).toBe(200);
  });

  it('knows a connection lost in the middle of a query by where the failure came from, not by its words', async () => {
    const running = data.database.pool.query('select pg_sleep(5)').then(() => undefined, (err: unknown) => err);
    await new Promise((r) => setTimeout(r, 300)); // the statement is on the server
    await proxy.cut();
    const err = await running;
    await proxy.restore();
    expect(err).toBeInstanceOf(Error);
    expect(isDatabaseUnavailable(err)).toBe(true);
    // The same words from anywhere else mean nothing in particular.
    expect(isDatabaseUnavailable(new Error((err as Error).message))).toBe(false);
  });
});
