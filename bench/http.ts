/**
 * HTTP figures: Conveyor beside the bare node:http + pg ceiling, same database, same
 * process count, same sitting; /api/external against a 100 ms upstream; the NDJSON stream
 * over 1,000,000 rows with the server's peak memory growth.
 */
import { randomBytes } from 'node:crypto';
import type autocannon from 'autocannon';
import pg from 'pg';
import { request } from 'undici';
import { createDatabase } from '../src/db/client.ts';
import { createToken, createUser } from '../src/modules/accounts/service.ts';
import { authFigures } from './auth.ts';
import { alternate, fmt, load, median, node, pct, rssOf, sampleRss, startProc, table, waitFor, type LoadResult, type Paired, type Proc } from './lib.ts';
import { startUpstream } from './upstream.ts';

const serverUrl = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';
const duration = Number(process.env.BENCH_DURATION ?? 10);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 50);
const processCounts = (process.env.BENCH_WORKERS ?? '1,2').split(',').map(Number);
const logLevel = process.env.BENCH_LOG_LEVEL ?? 'info';
const SEED_ROWS = 10_000;
/** The user prepareDatabase creates (the auth pair logs in as it). */
const BENCH_USER = { username: 'bench', password: 'bench-password' };
const STREAM_ROWS = Number(process.env.BENCH_STREAM_ROWS ?? 1_000_000);

async function admin<T>(fn: (c: pg.Client) => Promise<T>, url = serverUrl): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

async function prepareDatabase(): Promise<{ url: string; token: string; drop(): Promise<void> }> {
  const name = `conveyor_bench_${randomBytes(4).toString('hex')}`;
  await admin((c) => c.query(`CREATE DATABASE ${name}`));
  const url = Object.assign(new URL(serverUrl), { pathname: `/${name}` }).toString();
  const migrate = startProc(['src/cli.ts', 'migrate'], { DATABASE_URL: url, LOG_LEVEL: 'warn' }, 'migrate');
  const code = await new Promise<number | null>((r) => migrate.child.on('exit', r));
  if (code !== 0) throw new Error('conveyor migrate failed');
  await admin(
    (c) => c.query(`insert into app.items (name, description, status, score)
      select 'seed-' || g, 'row ' || g, case when g % 3 = 0 then 'inactive' else 'active' end, g % 100
      from generate_series(1, ${SEED_ROWS}) g`),
    url,
  );
  const database = createDatabase({ url, poolSize: 2, connectTimeoutMs: 5_000 });
  await createUser(database.db, { username: 'bench', password: 'bench-password' });
  const { token } = await createToken(database.db, 'bench');
  await database.close();
  return { url, token, drop: () => admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined) };
}

function scenarios(base: string, token: string): Record<string, autocannon.Options> {
  let n = 0;
  const run = randomBytes(3).toString('hex');
  // Reads first, POST last: its rows would otherwise make the reads after it (count) slower.
  // Both servers POST in alternating rounds, so they see the same table; `reset()` removes
  // the rows before the next process count.
  return {
    'GET item': { url: base, requests: [{ method: 'GET' as const, setupRequest: (r: autocannon.Request) => ({ ...r, path: `/api/items/${1 + Math.floor(Math.random() * SEED_ROWS)}` }) }] },
    count: { url: `${base}/api/items/count` },
    'list 100': { url: `${base}/api/items?limit=100` },
    'POST item': {
      url: base,
      requests: [{
        method: 'POST' as const, path: '/api/items',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        setupRequest: (r: autocannon.Request) => ({ ...r, body: JSON.stringify({ name: `bench-${run}-${process.pid}-${n++}`, score: 1 }) }),
      }],
    },
  };
}

const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const roundSecs = Math.max(2, Math.round(duration / rounds));
/** BENCH_SCENARIOS: a comma-separated subset of `get,count,list,post,auth,external,stream` (default: all). */
const only = process.env.BENCH_SCENARIOS?.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
const keyOf = (name: string) => name.split(' ')[0]!.toLowerCase();
const selected = (name: string) => !only || only.includes(keyOf(name));
/**
 * Both servers run side by side, and each scenario alternates between them in short rounds
 * (Conveyor first in odd rounds, the ceiling first in even ones): this VM's speed drifts by
 * a third within minutes, and a ratio of two loads taken seconds apart is what survives it.
 */
async function measurePaired(conveyorBase: string, ceilingBase: string, token: string): Promise<Record<string, Paired>> {
  const a = scenarios(conveyorBase, token);
  const b = scenarios(ceilingBase, token);
  const out: Record<string, Paired> = {};
  for (const name of Object.keys(a).filter(selected)) out[name] = await alternate(a[name]!, b[name]!, connections, rounds, roundSecs);
  return out;
}

/** Back to the seeded table: drop what POST added, and refresh the planner's statistics. */
async function reset(url: string): Promise<void> {
  await admin(async (c) => {
    await c.query(`delete from app.items where id > ${SEED_ROWS}`);
    await c.query('vacuum analyze app.items');
  }, url);
}

async function withServer<T>(proc: Proc, readyUrl: string, fn: () => Promise<T>): Promise<T> {
  try {
    await waitFor(readyUrl);
    return await fn();
  } finally {
    await proc.stop();
  }
}

async function streamFigures(url: string): Promise<string[][]> {
  const rows = await admin((c) => c.query('select count(*)::int as n from app.items'), url);
  const missing = STREAM_ROWS - (rows.rows[0] as { n: number }).n;
  if (missing > 0) {
    await admin((c) => c.query(`insert into app.items (name, description, status, score)
      select 'stream-' || g, 'streamed row ' || g, 'active', g % 1000 from generate_series(1, ${missing}) g`), url);
  }
  const port = 18_000 + Math.floor(Math.random() * 1000);
  const proc = startProc(['src/cli.ts', 'serve', '--port', String(port), '--no-worker'], { DATABASE_URL: url, LOG_LEVEL: logLevel }, 'conveyor');
  return withServer(proc, `http://127.0.0.1:${port}/healthz`, async () => {
    const pid = proc.child.pid!;
    // Warm the path (modules loaded lazily, JIT, pool connections) with a small stream, so the
    // baseline is a running server's and the growth is the big stream's own.
    const warm = await request(`http://127.0.0.1:${port}/api/items/stream?status=inactive`);
    for await (const _ of warm.body) { /* drain */ }
    await new Promise((r) => setTimeout(r, 500));
    // Peak RSS growth depends on when V8 runs a major GC: one sample can land either way,
    // so stream three times and report the median and the worst.
    const runs: { lines: number; secs: number; first: number; growth: number }[] = [];
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setTimeout(r, 500));
      const before = rssOf(pid);
      const sampler = sampleRss(pid);
      const start = performance.now();
      const res = await request(`http://127.0.0.1:${port}/api/items/stream`);
      let first = 0;
      let lines = 0;
      for await (const chunk of res.body) {
        if (!first) first = performance.now() - start;
        for (const b of chunk as Buffer) if (b === 10) lines++;
      }
      runs.push({ lines, secs: (performance.now() - start) / 1000, first, growth: (sampler.stop() - before) / 2 ** 20 });
    }
    return [
      ['stream (3 runs)', 'rows', 'rows/s (median)', 'first row (median)', 'peak RSS growth (median / worst)'],
      ['GET /api/items/stream', fmt(runs[0]!.lines), fmt(median(runs.map((r) => r.lines / r.secs))), `${fmt(median(runs.map((r) => r.first)), 1)} ms`,
        `${fmt(median(runs.map((r) => r.growth)), 1)} / ${fmt(Math.max(...runs.map((r) => r.growth)), 1)} MiB`],
    ];
  });
}

/**
 * /api/external at 512 connections against a 100 ms upstream, beside the ceiling's bare
 * node:http + undici proxy in alternating rounds, and the load generator straight at the
 * upstream: what this machine's load generator and upstream allow at all.
 */
async function externalFigures(url: string, processes: number): Promise<string[][]> {
  const upstream = await startUpstream(100);
  const cPort = 18_000 + Math.floor(Math.random() * 1000);
  const kPort = cPort + 1000;
  const env = { DATABASE_URL: url, EXTERNAL_API_URL: upstream.url };
  const conveyor = startProc(['src/cli.ts', 'serve', '--port', String(cPort), '--no-worker', '--workers', String(processes)], { ...env, LOG_LEVEL: logLevel, FETCH_ALLOW_PRIVATE: 'true' }, 'conveyor');
  const ceiling = startProc(['bench/ceiling.ts'], { ...env, PORT: String(kPort), WORKERS: String(processes) }, 'ceiling');
  try {
    return await withServer(conveyor, `http://127.0.0.1:${cPort}/healthz`, () =>
      withServer(ceiling, `http://127.0.0.1:${kPort}/api/items/count`, async () => {
        const opts = (base: string) => ({ url: `${base}/api/external`, connections: 512 });
        const [a, b] = [opts(`http://127.0.0.1:${cPort}`), opts(`http://127.0.0.1:${kPort}`)];
        // Whole-duration rounds: each load loses about one 100 ms wave at its start and its
        // end, which would cost a 3 s round 3% of its rate.
        const paired = await alternate(a, b, 512, 2, duration);
        const direct = await load({ url: upstream.url, connections: 512, duration });
        const row = (label: string, r: LoadResult) => [label, fmt(r.rps), pct(r.rps, 5120), fmt(r.p99), fmt(r.non2xx)];
        return [
          [`/api/external, processes=${processes} (512 conn, 100 ms upstream)`, 'req/s', 'of ideal 5,120', 'p99 ms', 'non-2xx'],
          row(`Conveyor (${Math.round(paired.ratio * 100)}% of the ceiling)`, paired.conveyor),
          row('ceiling (node:http + undici)', paired.ceiling),
          row('load generator straight at the upstream', direct),
        ];
      }));
  } finally {
    await upstream.close();
  }
}

export async function runHttpBench(): Promise<void> {
  console.log(`HTTP benchmark: ${duration}s per scenario and server in ${rounds} alternating rounds, ${connections} connections, LOG_LEVEL=${logLevel}, PostgreSQL ${serverUrl.replace(/\/\/[^@]*@/, '//')}`);
  const db = await prepareDatabase();
  const itemScenarios = Object.keys(scenarios('', '')).some(selected);
  try {
    for (const processes of processCounts) {
      if (itemScenarios) {
        const cPort = 18_000 + Math.floor(Math.random() * 1000);
        const kPort = cPort + 1000;
        const conveyor = startProc(['src/cli.ts', 'serve', '--port', String(cPort), '--no-worker', '--workers', String(processes)], { DATABASE_URL: db.url, LOG_LEVEL: logLevel }, 'conveyor');
        const ceiling = startProc(['bench/ceiling.ts'], { DATABASE_URL: db.url, PORT: String(kPort), WORKERS: String(processes) }, 'ceiling');
        const paired = await withServer(conveyor, `http://127.0.0.1:${cPort}/healthz`, () =>
          withServer(ceiling, `http://127.0.0.1:${kPort}/api/items/count`, () => measurePaired(`http://127.0.0.1:${cPort}`, `http://127.0.0.1:${kPort}`, db.token)));
        await reset(db.url);
        const rows: (string | number)[][] = [[`processes=${processes}`, 'Conveyor req/s', 'ceiling req/s', 'ratio', 'Conveyor p99', 'ceiling p99', 'non-2xx']];
        for (const [name, { conveyor: a, ceiling: b, ratio }] of Object.entries(paired)) {
          rows.push([name, fmt(a.rps), fmt(b.rps), `${Math.round(ratio * 100)}%`, `${a.p99} ms`, `${b.p99} ms`, `${a.non2xx}/${b.non2xx}`]);
        }
        console.log(`\n${table(rows)}`);
      }
      if (selected('auth')) console.log(`\n${table(await authFigures({ url: db.url, user: { ...BENCH_USER, token: db.token }, processes, logLevel, connections, rounds, roundSecs }))}`);
      if (selected('external')) console.log(`\n${table(await externalFigures(db.url, processes))}`);
    }
    if (selected('stream')) console.log(`\n${table(await streamFigures(db.url))}`);
  } finally {
    await db.drop();
  }
}

export { node };
