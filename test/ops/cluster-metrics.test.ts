/**
 * /metrics under `serve --workers 2` covers both HTTP processes: whichever one answers a
 * scrape, the request counter is the cluster's total.
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServerDatabase } from '../helpers/database.ts';
import { cli, startServe, type Served } from '../helpers/processes.ts';

let db: { url: string; drop(): Promise<void> };
let served: Served;

beforeAll(async () => {
  db = await createServerDatabase();
  const migrated = await cli(['migrate'], { DATABASE_URL: db.url, REDIS_URL: '', LOG_LEVEL: 'warn' });
  expect(migrated.code, migrated.stderr).toBe(0);
  served = await startServe({ DATABASE_URL: db.url, REDIS_URL: '', LOG_LEVEL: 'warn' }, ['--workers', '2', '--no-worker']);
});
afterAll(async () => {
  if (served && served.child.exitCode === null) {
    served.child.kill('SIGTERM');
    await served.exited;
  }
  await db?.drop();
});

/** One request on a connection of its own, so the cluster spreads them over its processes. */
function get(path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(`${served.base}${path}`, { agent: false }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

const countOf = (text: string, route: string): number =>
  text
    .split('\n')
    .filter((l) => l.startsWith('http_requests_total{') && l.includes(`route="${route}"`))
    .reduce((n, l) => n + Number(l.split(' ').at(-1)), 0);

describe('serve --workers 2: /metrics', () => {
  it('counts every request of every HTTP process on each scrape', async () => {
    const N = 40;
    for (let i = 0; i < N; i++) expect((await get('/api/items/count')).status).toBe(200);
    const scrapes: number[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await get('/metrics');
      expect(res.status).toBe(200);
      scrapes.push(countOf(res.body, '/api/items/count'));
    }
    expect(scrapes).toEqual(Array(6).fill(N));
  });

  it('sums process metrics and keeps one copy of the task series', async () => {
    const { body } = await get('/metrics');
    expect(body).toMatch(/^# TYPE http_request_duration_seconds histogram$/m);
    const bucket = body.split('\n').find((l) => l.startsWith('http_request_duration_seconds_count{') && l.includes('route="/api/items/count"'));
    expect(Number(bucket?.split(' ').at(-1))).toBe(40);
    expect(body).toMatch(/^conveyor_task_engine_up 1$/m);
  });
});
