import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServe, tokenThroughRunningServe } from '../helpers/processes.ts';

let upstream: http.Server;
let upstreamUrl: string;
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'conveyor-shutdown-'));

beforeAll(async () => {
  // An upstream slow enough that the request is still in flight when SIGTERM arrives.
  upstream = http.createServer((_req, res) => setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end('{"slow":true}'), 1_500));
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/slow`;
});
afterAll(async () => {
  upstream.closeAllConnections();
  await new Promise((r) => upstream.close(r));
  rmSync(dataDir, { recursive: true, force: true });
});

describe('SIGTERM', () => {
  it('stops accepting, finishes the request in flight, then exits 0', async () => {
    const served = await startServe({ DATA_DIR: dataDir, DATABASE_URL: '', REDIS_URL: '', EXTERNAL_API_URL: upstreamUrl, FETCH_ALLOW_PRIVATE: 'true', SHUTDOWN_GRACE_MS: '10000' });
    const inFlight = fetch(`${served.base}/api/external`);
    await new Promise((r) => setTimeout(r, 300));
    served.child.kill('SIGTERM');
    const res = await inFlight;
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ slow: true });
    const code = await served.exited;
    expect(code, served.output()).toBe(0);
    await expect(fetch(`${served.base}/healthz`)).rejects.toThrow();
  });

  it('ends open task event streams (a task still waiting) so the drain does not wait for them', async () => {
    const served = await startServe({ DATA_DIR: dataDir, DATABASE_URL: '', REDIS_URL: '', SHUTDOWN_GRACE_MS: '20000' });
    const token = await tokenThroughRunningServe(dataDir, { staff: true });
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const enqueued = await fetch(`${served.base}/api/tasks`, {
      method: 'POST', headers, body: JSON.stringify({ name: 'fetch_data', args: { url: 'https://example.com/' }, options: { delay_ms: 3_600_000 } }),
    });
    expect(enqueued.status).toBe(202);
    const { task_id } = (await enqueued.json()) as { task_id: string };
    const events = await fetch(`${served.base}/api/tasks/${task_id}/events`, { headers });
    expect(events.headers.get('content-type')).toMatch(/text\/event-stream/);
    const reader = events.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toMatch(/PENDING/);

    const started = Date.now();
    served.child.kill('SIGTERM');
    while (!(await reader.read()).done) { /* drain until the server ends the stream */ }
    const code = await served.exited;
    expect(code, served.output()).toBe(0);
    // Well inside the 20 s grace period: nothing waited for the stream to end by itself.
    expect(Date.now() - started).toBeLessThan(15_000);
  });
});
