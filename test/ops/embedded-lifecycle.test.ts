import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli, startServe, tokenThroughRunningServe } from '../helpers/processes.ts';

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'conveyor-lifecycle-'));
const env = { DATA_DIR: dataDir, DATABASE_URL: '', REDIS_URL: '' };
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe('embedded mode, as real processes', () => {
  it('refuses a second serve on the same DATA_DIR, keeps data through kill -9, and shuts down gracefully', async () => {
    const first = await startServe(env);
    const second = await cli(['serve', '--port', '0'], env);
    expect(second.code).not.toBe(0);
    expect(second.stderr).toMatch(/is in use by process \d+ \(conveyor serve/);

    const token = await tokenThroughRunningServe(dataDir);
    const created = await fetch(`${first.base}/api/items`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ name: 'survives kill -9', score: 4.5 }),
    });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: number };

    first.child.kill('SIGKILL'); // no shutdown code runs; the lock file stays behind
    await first.exited;

    const again = await startServe(env); // stale lock from a dead pid is taken over
    const read = await fetch(`${again.base}/api/items/${id}`);
    expect(read.status).toBe(200);
    expect(await read.json()).toMatchObject({ id, name: 'survives kill -9', score: 4.5 });

    again.child.kill('SIGTERM');
    expect(await again.exited).toBe(0);
    expect(again.output()).toMatch(/shutting down/);
    // The log is written in batches: its last line (the database step) still reaches stdout on exit.
    expect(again.output()).toMatch(/"step":"database","ms":\d+,"msg":"stopped"/);
  });
});

describe('serve --workers 2', () => {
  it('runs two HTTP processes on one port over the primary\'s embedded database, a worker in the primary, and stops them all on SIGTERM', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'conveyor-cluster-'));
    const upstream = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":1}'));
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/`;
    const served = await startServe({ DATA_DIR: dir, DATABASE_URL: '', REDIS_URL: '', FETCH_ALLOW_PRIVATE: 'true' }, ['--workers', '2']);
    try {
      // A task enqueued through either HTTP process runs on the primary's worker.
      const token = await tokenThroughRunningServe(dir);
      const enqueued = await fetch(`${served.base}/api/tasks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ name: 'fetch_data', args: { url: upstreamUrl } }),
      });
      expect(enqueued.status).toBe(202);
      const { task_id } = (await enqueued.json()) as { task_id: string };
      let state = '';
      for (let i = 0; i < 150 && state !== 'SUCCESS'; i++) {
        const res = await fetch(`${served.base}/api/tasks/${task_id}`, { headers: { authorization: `Bearer ${token}` } });
        state = ((await res.json()) as { state: string }).state;
        if (state !== 'SUCCESS') await new Promise((r) => setTimeout(r, 100));
      }
      expect(state).toBe('SUCCESS');

      const answers = await Promise.all(Array.from({ length: 40 }, () => fetch(`${served.base}/api/items/999999`).then((r) => r.status)));
      expect(new Set(answers)).toEqual(new Set([404]));
      expect(served.output()).toMatch(/primary started HTTP processes/);
      // /healthz answered once the first child listened; give the second one time to start.
      const serving = () => served.output().match(/conveyor is serving/g)?.length ?? 0;
      for (let i = 0; i < 200 && serving() < 2; i++) await new Promise((r) => setTimeout(r, 100));
      expect(serving()).toBe(2);
    } finally {
      served.child.kill('SIGTERM');
      expect(await served.exited).toBe(0);
      upstream.closeAllConnections();
      upstream.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
