/**
 * Embedded mode's figures: `serve` from a fresh DATA_DIR and from an existing one to the first
 * `/healthz`, the PostgreSQL processes' memory, and GET /api/items/{id} on the embedded
 * server beside the same Conveyor on this machine's PostgreSQL, in alternating rounds.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { clusterDir, socketDirFor } from '../src/db/embedded/index.ts';
import { readPostmasterPid } from '../src/db/embedded/postmaster-pid.ts';
import { fmt, load, startProc, table, waitFor, type LoadResult } from './lib.ts';

const serverUrl = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';
const duration = Number(process.env.BENCH_DURATION ?? 10);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 50);
const SEED_ROWS = 10_000;
const embeddedEnv = (dataDir: string) => ({ DATA_DIR: dataDir, DATABASE_URL: '', REDIS_URL: '', LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info' });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const port = () => 18_000 + Math.floor(Math.random() * 2000);

/** ms from spawning `serve` to its first 200 on /healthz. */
async function timeToHealthy(dataDir: string): Promise<number> {
  const p = port();
  const started = performance.now();
  const proc = startProc(['src/cli.ts', 'serve', '--port', String(p)], embeddedEnv(dataDir), 'serve');
  try {
    await waitFor(`http://127.0.0.1:${p}/healthz`, 60_000, 10);
    return performance.now() - started;
  } finally {
    await proc.stop();
  }
}

/** The postmaster and every process below it. */
function serverPids(dataDir: string): number[] {
  const root = readPostmasterPid(clusterDir(dataDir))?.pid;
  if (!root) return [];
  const parent = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      parent.set(Number(d), Number(readFileSync(`/proc/${d}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]));
    } catch { /* exited */ }
  }
  const pids = [root];
  for (let i = 0; i < pids.length; i++) for (const [pid, ppid] of parent) if (ppid === pids[i]) pids.push(pid);
  return pids;
}

/** RSS counts shared_buffers once per process that touched it; PSS shares it out. Both in MiB. */
function memoryOf(pids: number[]): { rss: number; pss: number; processes: number } {
  let rss = 0;
  let pss = 0;
  for (const pid of pids) {
    try {
      const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
      rss += Number(/^Rss:\s+(\d+)/m.exec(text)?.[1] ?? 0);
      pss += Number(/^Pss:\s+(\d+)/m.exec(text)?.[1] ?? 0);
    } catch { /* exited */ }
  }
  return { rss: rss / 1024, pss: pss / 1024, processes: pids.length };
}

async function seed(url: string): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(`insert into app.items (name, description, status, score)
      select 'seed-' || g, 'row ' || g, case when g % 3 = 0 then 'inactive' else 'active' end, g % 100 from generate_series(1, ${SEED_ROWS}) g`);
    await c.query('vacuum analyze app.items');
  } finally {
    await c.end();
  }
}

const getItem = (base: string) => ({
  url: base,
  connections,
  requests: [{ method: 'GET' as const, setupRequest: (r: { path?: string }) => ({ ...r, path: `/api/items/${1 + Math.floor(Math.random() * SEED_ROWS)}` }) }],
});

export async function runEmbeddedBench(): Promise<void> {
  console.log(`Embedded benchmark: start times (3 each), PostgreSQL memory, GET item embedded vs this machine's PostgreSQL (${rounds} alternating rounds of ${Math.round(duration / rounds)} s, ${connections} connections)`);
  const dirs: string[] = [];
  const fresh = () => {
    const d = mkdtempSync(path.join(os.tmpdir(), 'conveyor-bench-embedded-'));
    dirs.push(d);
    return d;
  };
  const name = `conveyor_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    const firsts: number[] = [];
    const laters: number[] = [];
    for (let i = 0; i < 3; i++) {
      const d = fresh();
      firsts.push(await timeToHealthy(d));
      laters.push(await timeToHealthy(d));
    }
    console.log(`\n${table([
      ['serve to first /healthz', 'median', 'runs', 'target'],
      ['first start (initdb, migrate)', `${fmt(median(firsts))} ms`, firsts.map((x) => fmt(x)).join(', '), '≤ 5,000 ms'],
      ['later start', `${fmt(median(laters))} ms`, laters.map((x) => fmt(x)).join(', '), '≤ 2,000 ms'],
    ])}`);

    // The same Conveyor twice: on the embedded server, and on the machine's PostgreSQL.
    await admin.query(`CREATE DATABASE ${name}`);
    const serverDb = Object.assign(new URL(serverUrl), { pathname: `/${name}` }).toString();
    const migrate = startProc(['src/cli.ts', 'migrate'], { DATABASE_URL: serverDb, LOG_LEVEL: 'warn' }, 'migrate');
    await new Promise((r) => migrate.child.on('exit', r));
    await seed(serverDb);
    const dataDir = fresh();
    const [ePort, sPort] = [port(), port() + 3000];
    const embedded = startProc(['src/cli.ts', 'serve', '--port', String(ePort), '--no-worker'], embeddedEnv(dataDir), 'embedded');
    const onServer = startProc(['src/cli.ts', 'serve', '--port', String(sPort), '--no-worker'], { DATABASE_URL: serverDb, REDIS_URL: '', LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info' }, 'postgres');
    try {
      await waitFor(`http://127.0.0.1:${ePort}/healthz`);
      await waitFor(`http://127.0.0.1:${sPort}/healthz`);
      await seed(`postgresql://postgres@localhost/postgres?host=${encodeURIComponent(socketDirFor(dataDir))}`);
      const idle = memoryOf(serverPids(dataDir));
      const a = getItem(`http://127.0.0.1:${ePort}`);
      const b = getItem(`http://127.0.0.1:${sPort}`);
      await load({ ...a, duration: 2 });
      await load({ ...b, duration: 2 });
      const ea: LoadResult[] = [];
      const sb: LoadResult[] = [];
      let busy = idle;
      const secs = Math.max(2, Math.round(duration / rounds));
      for (let i = 0; i < rounds; i++) {
        const runA = async () => {
          const sample = setTimeout(() => (busy = memoryOf(serverPids(dataDir))), (secs * 1000) / 2);
          ea.push(await load({ ...a, duration: secs }));
          clearTimeout(sample);
        };
        const runB = async () => void sb.push(await load({ ...b, duration: secs }));
        if (i % 2 === 0) await runA().then(runB);
        else await runB().then(runA);
      }
      const ratio = median(ea.map((r, i) => r.rps / sb[i]!.rps));
      console.log(`\n${table([
        ['GET /api/items/{id}, 1 process', 'req/s (median)', 'p99 ms', 'non-2xx'],
        [`embedded (${Math.round(ratio * 100)}% of the server; target ≥ 90%)`, fmt(median(ea.map((r) => r.rps))), fmt(median(ea.map((r) => r.p99))), fmt(ea.reduce((n, r) => n + r.non2xx, 0))],
        ['this machine\'s PostgreSQL', fmt(median(sb.map((r) => r.rps))), fmt(median(sb.map((r) => r.p99))), fmt(sb.reduce((n, r) => n + r.non2xx, 0))],
      ])}`);
      console.log(`\n${table([
        ['embedded PostgreSQL processes', 'processes', 'RSS (sum)', 'PSS (sum)'],
        ['idle, after start', String(idle.processes), `${fmt(idle.rss, 1)} MiB`, `${fmt(idle.pss, 1)} MiB`],
        ['under the GET load', String(busy.processes), `${fmt(busy.rss, 1)} MiB`, `${fmt(busy.pss, 1)} MiB`],
      ])}`);
    } finally {
      await embedded.stop();
      await onServer.stop();
    }
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
    await admin.end();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
}
