/**
 * The task broker (Redis) going away while the API runs: enqueueing answers 503
 * `unavailable` (not a 500 and not a hang), /readyz names the broker, and both recover when
 * it is back. The failure is recognised by the broker not answering a ping, not by the
 * client library's wording.
 */
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type App } from '../../src/app/build-app.ts';
import { createToken, createUser } from '../../src/modules/accounts/service.ts';
import { buildRegistry } from '../../src/server/runtime.ts';
import { openTaskBackend, type TaskBackend } from '../../src/tasks/backend.ts';
import { createTaskClient, type TaskClient } from '../../src/tasks/index.ts';
import { createTestData, type TestData } from '../helpers/database.ts';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.ts';

let proxy: TcpProxy;
let t: TestData;
let backend: TaskBackend;
let client: TaskClient;
let app: App;
let headers: Record<string, string>;

beforeAll(async () => {
  const redis = new URL(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379');
  proxy = await startTcpProxy({ host: redis.hostname, port: Number(redis.port || 6379) });
  const viaProxy = Object.assign(new URL(redis.href), { port: String(proxy.port) }).toString();
  t = await createTestData({ REDIS_URL: viaProxy, TASK_PREFIX: `cvt_${randomBytes(4).toString('hex')}` });
  const registry = await buildRegistry(t.config);
  backend = await openTaskBackend(t.config, { databaseUrl: t.url });
  client = await createTaskClient({ config: t.config, data: t.data, registry, backend });
  app = await buildApp(t.config, { database: t.data.database, logger: pino({ level: 'silent' }), tasks: client });
  await app.ready();
  const username = `broker_${randomBytes(4).toString('hex')}`;
  await createUser(t.data.database.db, { username, password: 'correct horse battery' });
  headers = { authorization: `Bearer ${(await createToken(t.data.database.db, username)).token}`, 'content-type': 'application/json' };
});

afterAll(async () => {
  await app?.close();
  await client?.close();
  await backend?.close();
  await t?.close();
  await proxy?.close();
});

const enqueue = () => app.inject({ method: 'POST', url: '/api/tasks', headers, payload: { name: 'fetch_data', args: { url: 'http://example.invalid/x.json' } } });

describe('while the task broker is unreachable', () => {
  it('answers 503 unavailable to an enqueue, names the broker in /readyz, and recovers', async () => {
    expect((await enqueue()).statusCode).toBe(202);

    await proxy.cut();
    const res = await enqueue();
    expect(res.statusCode).toBe(503);
    expect(res.json()).toMatchObject({ error: { code: 'unavailable', message: 'The task broker cannot be reached right now' } });
    const ready = await app.inject('/readyz');
    expect(ready.statusCode).toBe(503);
    expect(ready.json()).toMatchObject({ checks: { broker: { ok: false }, database: { ok: true } } });

    await proxy.restore();
    let status = 0;
    for (let i = 0; i < 40 && status !== 202; i++) {
      status = (await enqueue()).statusCode;
      if (status !== 202) await new Promise((r) => setTimeout(r, 250));
    }
    expect(status).toBe(202);
  });
});
