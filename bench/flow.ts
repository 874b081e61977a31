/**
 * Workflows and limits: a chord of 1,000 header tasks (how long after the last header
 * finished the body starts), and 10,000 tasks under a 1,000/s rate limit (the rate reached,
 * as a share of the limit, and the most starts seen in any one-second window), on Redis and
 * PostgreSQL, each on a fresh database with an in-process worker.
 */
import pino from 'pino';
import { Type } from 'typebox';
import { buildRegistry } from '../src/server/runtime.ts';
import { openTaskBackend } from '../src/tasks/backend.ts';
import { chord, createTaskClient, defineTask, type AnyTask, type TaskContext } from '../src/tasks/index.ts';
import { startTaskWorker } from '../src/tasks/worker.ts';
import { fmt, table } from './lib.ts';
import { openSite, type Backend } from './tasks.ts';

const HEADER = Number(process.env.BENCH_CHORD ?? 1_000);
const CHORDS = Number(process.env.BENCH_CHORDS ?? 5);
const LIMITED = Number(process.env.BENCH_LIMITED ?? 10_000);
const LIMIT = Number(process.env.BENCH_LIMIT ?? 1_000);
const CONCURRENCY = 64;

const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))] ?? 0;

const item = defineTask({ name: 'bench_item', payload: Type.Object({ i: Type.Integer() }), handler: async ({ i }) => i });
const total = defineTask({ name: 'bench_total', payload: Type.Object({}), handler: async (_p, ctx: TaskContext<number[]>) => ({ n: ctx.previous?.length ?? 0, at: Date.now() }) });
const starts: number[] = [];
const free = defineTask({ name: 'bench_free', payload: Type.Object({ i: Type.Integer() }), handler: async () => void starts.push(Date.now()) });
const limited = defineTask({
  name: 'bench_limited',
  payload: Type.Object({ i: Type.Integer() }),
  options: { rateLimit: { limit: LIMIT, perMs: 1_000 } },
  handler: async () => void starts.push(Date.now()),
});

/** The most of `times` (sorted) inside any window of `windowMs`. */
function densest(times: number[], windowMs: number): number {
  let best = 0;
  for (let lo = 0, hi = 0; hi < times.length; hi++) {
    while (times[hi]! - times[lo]! >= windowMs) lo++;
    best = Math.max(best, hi - lo + 1);
  }
  return best;
}

async function onBackend(backend: Backend): Promise<string[]> {
  const site = await openSite(backend);
  const registry = await buildRegistry(site.config);
  for (const t of [item, total, free, limited]) registry.add(t as unknown as AnyTask);
  const broker = await openTaskBackend(site.config, { databaseUrl: site.data.url, forWorkers: true, poolSize: 16 });
  const client = await createTaskClient({ config: site.config, data: site.data, registry, backend: broker });
  const startWorker = () => startTaskWorker({ config: site.config, backend: broker, registry, database: site.data.database, logger: pino({ level: 'silent' }), concurrency: CONCURRENCY });
  let worker = await startWorker();
  const pool = site.data.database.pool;
  try {
    // Chords: body start − last header finish, from the task table's own times.
    const latency: number[] = [];
    for (let c = 0; c < CHORDS; c++) {
      const { tasks } = await client.workflow(chord(Array.from({ length: HEADER }, (_, i) => item.s({ i })), total.s({})));
      const body = tasks.at(-1)!;
      for (;;) {
        const t = await client.getTask(body);
        if (t?.state === 'SUCCESS') break;
        if (t?.state === 'FAILURE' || t?.state === 'REVOKED') throw new Error(`chord body ${t.state}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      const { rows } = await pool.query<{ last: Date; started: Date }>(
        `SELECT max(finished_at) FILTER (WHERE id <> $1) AS last, max(started_at) FILTER (WHERE id = $1) AS started FROM app.tasks WHERE id = ANY($2::uuid[])`,
        [body, tasks],
      );
      latency.push(rows[0]!.started.getTime() - rows[0]!.last.getTime());
    }
    // The same tasks without a limit (the baseline: what this machine runs at all), then under
    // a rate limit of LIMIT/s: enqueue everything with no worker running (so the enqueue rate
    // does not pace the run), then start one and watch the starts.
    await worker.close();
    const run = async (name: string) => {
      starts.length = 0;
      const sent = performance.now();
      let next = 0;
      await Promise.all(Array.from({ length: 32 }, async () => {
        while (next < LIMITED) await client.enqueue(name, { i: next++ });
      }));
      const enqueueS = (performance.now() - sent) / 1000;
      worker = await startWorker();
      while (starts.length < LIMITED) await new Promise((r) => setTimeout(r, 50));
      await worker.close();
      // The starts as the task table has them (started_at: when the run was admitted; the
      // handler begins once its claim commits, which on a loaded host varies by tens of ms).
      const { rows } = await pool.query<{ t: number }>(`SELECT extract(epoch FROM started_at)::float8 * 1000 AS t FROM app.tasks WHERE name = $1 ORDER BY 1`, [name]);
      const at = rows.map((r) => r.t);
      return { rate: (at.length - 1) / ((at.at(-1)! - at[0]!) / 1000), densest: densest(at, 1_000), enqueueS };
    };
    const baseline = await run('bench_free');
    const { rate, densest: most, enqueueS } = await run('bench_limited');
    return [
      backend,
      `${fmt(quantile(latency, 0.5), 1)} ms (${latency.map((l) => fmt(l, 0)).join(', ')})`,
      `${fmt(rate)} /s = ${Math.round((rate / LIMIT) * 100)}% of the limit`,
      `${fmt(baseline.rate)} /s`,
      `${fmt(most)} (limit ${fmt(LIMIT)})`,
      `${fmt(enqueueS, 1)} s`,
    ];
  } finally {
    await worker.close().catch(() => undefined);
    await client.close();
    await broker.close();
    await site.close();
  }
}

export async function runFlowBench(): Promise<void> {
  console.log(`\nWorkflows and limits: ${CHORDS} chords of ${fmt(HEADER)} header tasks; ${fmt(LIMITED)} tasks under a ${fmt(LIMIT)}/s rate limit; one worker, concurrency ${CONCURRENCY}`);
  const rows: string[][] = [['backend', 'chord: body start after the last header (p50, each)', 'limited: rate reached', 'no limit (baseline)', 'most starts in any 1 s', 'enqueue of all (limited, before the worker)']];
  for (const b of (process.env.BENCH_BACKENDS ?? 'redis,postgres').split(',').filter((x) => x !== 'embedded') as Backend[]) rows.push(await onBackend(b));
  console.log(`\n${table(rows)}`);
}
