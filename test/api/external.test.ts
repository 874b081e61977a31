/**
 * The seed's other views. GET /api/external against a real loopback upstream that succeeds,
 * fails, answers HTML or is too slow; GET /api/file on a present and a missing file.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type App } from '../../src/app/build-app.ts';
import { loadConfig, type Config } from '../../src/config/index.ts';
import { closeOutboundAgents } from '../../src/lib/http/index.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';

let t: TestApp;
let upstream: Server;
let base: string;
let dir: string;
const apps: App[] = [];

beforeAll(async () => {
  t = await createTestApp();
  dir = mkdtempSync(path.join(os.tmpdir(), 'conveyor-file-'));
  upstream = createServer((req, res) => {
    if (req.url === '/ok') return res.writeHead(200, { 'content-type': 'application/json' }).end('{"userId":1,"id":1,"title":"delectus aut autem","completed":false}');
    if (req.url === '/null') return res.writeHead(200, { 'content-type': 'application/json' }).end('null');
    if (req.url === '/slow') return void setTimeout(() => res.writeHead(200).end('{}'), 2_000).unref();
    if (req.url === '/fail') return res.writeHead(500).end('{"error":"boom"}');
    if (req.url === '/html') return res.writeHead(200, { 'content-type': 'text/html' }).end('<h1>hi</h1>');
    if (req.url === '/huge') return res.writeHead(200).end(JSON.stringify({ pad: 'x'.repeat(10_000) }));
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
});
afterAll(async () => {
  for (const app of apps) await app.close();
  await closeOutboundAgents();
  upstream.closeAllConnections();
  await new Promise((r) => upstream.close(r));
  rmSync(dir, { recursive: true, force: true });
  await t?.close();
});

/** The app with some settings changed, on this file's database. */
async function appWith(overrides: Partial<Config>): Promise<App> {
  const app = await buildApp({ ...t.config, FETCH_TIMEOUT_MS: 5_000, fetchAllowedHosts: [{ host: '127.0.0.1', port: undefined }], ...overrides }, { database: t.data.database, logger: pino({ level: 'silent' }) });
  apps.push(app);
  return app;
}
const external = async (overrides: Partial<Config>) => (await appWith(overrides)).inject({ url: '/api/external' });

describe('GET /api/external', () => {
  it('answers 200 with the upstream JSON', async () => {
    const res = await external({ EXTERNAL_API_URL: `${base}/ok` });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.json()).toEqual({ userId: 1, id: 1, title: 'delectus aut autem', completed: false });
  });

  it('passes any JSON value through, null included', async () => {
    const res = await external({ EXTERNAL_API_URL: `${base}/null` });
    expect([res.statusCode, res.body]).toEqual([200, 'null']);
  });

  it('answers 502 upstream_error when the upstream fails, answers non-JSON or too much', async () => {
    for (const [url, extra] of [[`${base}/fail`, {}], [`${base}/html`, {}], [`${base}/huge`, { FETCH_MAX_BYTES: 1000 }], ['http://127.0.0.1:1/', {}]] as const) {
      const res = await external({ EXTERNAL_API_URL: url, ...extra });
      expect([res.statusCode, res.json().error.code], url).toEqual([502, 'upstream_error']);
    }
  });

  it('answers 504 upstream_timeout past FETCH_TIMEOUT_MS', async () => {
    const started = Date.now();
    const res = await external({ EXTERNAL_API_URL: `${base}/slow`, FETCH_TIMEOUT_MS: 200 });
    expect([res.statusCode, res.json().error.code]).toEqual([504, 'upstream_timeout']);
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  it('refuses a private upstream unless it is allowed (502)', async () => {
    const res = await external({ EXTERNAL_API_URL: `${base}/ok`, fetchAllowedHosts: [] });
    expect([res.statusCode, res.json().error.code]).toEqual([502, 'upstream_error']);
    expect(res.json().error.details).toEqual({ reason: 'refused' });
    const open = await external({ EXTERNAL_API_URL: `${base}/ok`, fetchAllowedHosts: [], FETCH_ALLOW_PRIVATE: true });
    expect(open.statusCode).toBe(200);
  });

  it('reaches exactly the service FETCH_ALLOWED_HOSTS=host:port names, and no other port of that host', async () => {
    const port = (upstream.address() as AddressInfo).port;
    const allowed = (value: string) => loadConfig({ FETCH_ALLOWED_HOSTS: value }).fetchAllowedHosts;
    const ok = await external({ EXTERNAL_API_URL: `${base}/ok`, fetchAllowedHosts: allowed(`127.0.0.1:${port}`) });
    expect(ok.statusCode).toBe(200);
    const elsewhere = await external({ EXTERNAL_API_URL: `http://127.1:${port + 1}/ok`, fetchAllowedHosts: allowed(`127.0.0.1:${port}`) });
    expect([elsewhere.statusCode, elsewhere.json().error.details]).toEqual([502, { reason: 'refused' }]);
    const anyPort = await external({ EXTERNAL_API_URL: `http://127.1:${port}/ok`, fetchAllowedHosts: allowed('127.0.0.1') });
    expect(anyPort.statusCode).toBe(200);
  });

  it('serves many concurrent requests over pooled connections', async () => {
    // A generous timeout: this checks pooling, not speed, on a machine that may be busy.
    const app = await appWith({ EXTERNAL_API_URL: `${base}/ok`, FETCH_TIMEOUT_MS: 20_000 });
    const answers = await Promise.all(Array.from({ length: 200 }, () => app.inject({ url: '/api/external' })));
    expect(answers.map((r) => r.statusCode).filter((s) => s !== 200)).toEqual([]);
  });
});

describe('GET /api/file', () => {
  it('answers 200 {data} with the file text', async () => {
    const file = path.join(dir, 'data.json');
    writeFileSync(file, '{"hello": "wörld"}\n');
    const res = await (await appWith({ DATA_FILE: file })).inject({ url: '/api/file' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ data: '{"hello": "wörld"}\n' });
  });

  it('answers 404 not_found when the file is missing', async () => {
    const res = await (await appWith({ DATA_FILE: path.join(dir, 'missing.json') })).inject({ url: '/api/file' });
    expect([res.statusCode, res.json().error.code]).toEqual([404, 'not_found']);
  });
});
