/** `conveyor serve` in embedded mode runs a worker in-process; shutdown is ordered http, worker, queues, database. */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import { runSteps } from '../../src/lib/shutdown.ts';
import { createToken, createUser } from '../../src/modules/accounts/service.ts';
import { startHttp } from '../../src/server/serve.ts';
import { buildRuntime } from '../../src/server/runtime.ts';
import { broker } from './harness.ts';

describe.runIf(broker() === 'embedded')('serve (embedded)', () => {
  it('runs fetch_data with the in-process worker', async () => {
    const upstream = createServer((_q, r) => r.setHeader('content-type', 'application/json').end('{"ok":true}'));
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const up = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/x`;
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'cvt-serve-'));
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', DATA_DIR: dataDir, PORT: String(port), FETCH_ALLOW_PRIVATE: 'true' });
    const rt = await buildRuntime('serve', { command: 'serve', config, logger: pino({ level: 'silent' }) }, { worker: true });
    const steps = await startHttp(rt, { watchWorkers: false });
    const { data } = rt;
    try {
      expect(steps.map((s) => s.name)).toEqual(['http', 'worker', 'queues', 'database']);
      await createUser(data.database.db, { username: 'serveuser', password: 'correct horse battery' });
      const { token } = await createToken(data.database.db, 'serveuser');
      const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
      const res = await fetch(`http://127.0.0.1:${port}/api/tasks`, { method: 'POST', headers, body: JSON.stringify({ name: 'fetch_data', args: { url: up } }) });
      expect(res.status).toBe(202);
      const { task_id } = (await res.json()) as { task_id: string };
      let state = '';
      for (let i = 0; i < 200 && state !== 'SUCCESS'; i++) {
        await sleep(25);
        state = ((await (await fetch(`http://127.0.0.1:${port}/api/tasks/${task_id}`, { headers })).json()) as { state: string }).state;
      }
      expect(state).toBe('SUCCESS');
      expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
    } finally {
      expect(await runSteps(steps, pino({ level: 'silent' }))).toBe(true);
      upstream.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
