import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type App } from '../../src/app/build-app.ts';
import { createTestData, type TestData } from '../helpers/database.ts';
import { fakeMonitor, type FakeMonitor } from '../helpers/fake-monitor.ts';

let data: TestData;
let app: App;
let monitor: FakeMonitor;

beforeAll(async () => {
  data = await createTestData();
  monitor = fakeMonitor();
  app = await buildApp(data.config, { database: data.data.database, logger: pino({ level: 'silent' }), monitor });
  await app.ready();
});
afterAll(async () => {
  await app?.close();
  await data?.close();
});

/** The value of one series in a Prometheus text body, or undefined. */
function sample(body: string, series: string): number | undefined {
  const line = body.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('GET /metrics', () => {
  it('counts requests and latency by method, route pattern and status', async () => {
    for (let i = 0; i < 3; i++) expect((await app.inject({ url: '/healthz' })).statusCode).toBe(200);
    await app.inject({ url: '/api/items/999999' });
    await app.inject({ url: '/no/such/path/12345' });
    await app.inject({ url: '/no/such/other/path' });

    const res = await app.inject({ url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const body = res.body;
    expect(sample(body, 'http_requests_total{method="GET",route="/healthz",status="200"}')).toBe(3);
    expect(sample(body, 'http_request_duration_seconds_count{method="GET",route="/healthz",status="200"}')).toBe(3);
    expect(body).toContain('http_request_duration_seconds_bucket{le="0.005",method="GET",route="/healthz",status="200"}');
    // the pattern, not the URL: ids and unknown paths do not create series of their own
    expect(sample(body, 'http_requests_total{method="GET",route="/api/items/:id",status="404"}')).toBe(1);
    expect(sample(body, 'http_requests_total{method="GET",route="<unmatched>",status="404"}')).toBe(2);
    expect(body).not.toContain('route="/api/items/999999"');
    expect(body).not.toContain('/no/such');
    expect(body).toContain('# TYPE http_requests_total counter');
    expect(body).toContain('# TYPE http_request_duration_seconds histogram');
    // default process metrics
    expect(body).toContain('process_cpu_user_seconds_total');
    expect(body).toContain('nodejs_eventloop_lag_seconds');
  });

  it('exports the deployment\'s task runs and runtimes by name and outcome, queue depth and workers online', async () => {
    const hist = (runs: Record<number, number>) => Array.from({ length: 25 }, (_, i) => runs[i] ?? 0);
    // Bucket i holds runs of up to 2^i ms: two runs of ~250 ms (bucket 8), one of ~20 ms (bucket 5).
    monitor.totals = [
      { name: 'fetch_data', state: 'SUCCESS', count: 2, runtimeMs: 500, hist: hist({ 8: 2 }) },
      { name: 'fetch_data', state: 'RETRY', count: 1, runtimeMs: 10, hist: hist({ 4: 1 }) },
      { name: 'fetch_data', state: 'FAILURE', count: 1, runtimeMs: 20, hist: hist({ 5: 1 }) },
    ];
    monitor.counts = [{ queue: 'default', waiting: 7, active: 2, delayed: 1, prioritized: 0, paused: false }];
    const now = new Date();
    monitor.workers = [
      { id: 'w1', host: 'h', pid: 1, queues: ['default'], concurrency: 4, active: 1, processed: 9, failed: 1, memoryBytes: 1, startedAt: now, lastSeen: now, online: true },
      { id: 'w2', host: 'h', pid: 2, queues: ['default'], concurrency: 4, active: 0, processed: 0, failed: 0, memoryBytes: 1, startedAt: now, lastSeen: now, online: false },
    ];

    const body = (await app.inject({ url: '/metrics' })).body;
    expect(sample(body, 'conveyor_tasks_total{name="fetch_data",state="SUCCESS"}')).toBe(2);
    expect(sample(body, 'conveyor_tasks_total{name="fetch_data",state="RETRY"}')).toBe(1);
    expect(sample(body, 'conveyor_tasks_total{name="fetch_data",state="FAILURE"}')).toBe(1);
    expect(sample(body, 'conveyor_task_runtime_seconds_sum{name="fetch_data",state="SUCCESS"}')).toBeCloseTo(0.5);
    expect(sample(body, 'conveyor_task_runtime_seconds_count{name="fetch_data",state="FAILURE"}')).toBe(1);
    expect(sample(body, 'conveyor_task_runtime_seconds_bucket{name="fetch_data",state="SUCCESS",le="0.128"}')).toBe(0);
    expect(sample(body, 'conveyor_task_runtime_seconds_bucket{name="fetch_data",state="SUCCESS",le="0.256"}')).toBe(2);
    expect(sample(body, 'conveyor_task_runtime_seconds_bucket{name="fetch_data",state="SUCCESS",le="+Inf"}')).toBe(2);
    expect(body).toMatch(/# TYPE conveyor_task_runtime_seconds histogram/);
    expect(sample(body, 'conveyor_queue_jobs{queue="default",state="waiting"}')).toBe(7);
    expect(sample(body, 'conveyor_queue_jobs{queue="default",state="active"}')).toBe(2);
    expect(sample(body, 'conveyor_workers_online')).toBe(1);
    expect(sample(body, 'conveyor_task_engine_up')).toBe(1);
  });

  it('still answers when the engine does not, and says so', async () => {
    const saved = monitor.queueCounts;
    monitor.queueCounts = () => Promise.reject(new Error('broker down'));
    try {
      const res = await app.inject({ url: '/metrics' });
      expect(res.statusCode).toBe(200);
      expect(sample(res.body, 'conveyor_task_engine_up')).toBe(0);
      expect(res.body).not.toContain('conveyor_queue_jobs{');
    } finally {
      monitor.queueCounts = saved;
    }
  });
});
