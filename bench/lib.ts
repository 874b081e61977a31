/** Shared bench plumbing: child processes, readiness, load generation, memory sampling, tables. */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import autocannon from 'autocannon';

export const node = process.execPath;

export interface Proc {
  readonly child: ChildProcess;
  stop(): Promise<void>;
}

/** Node flags Conveyor ships with (bin/conveyor, npm scripts, Dockerfile); the ceiling runs bare. */
export const conveyorFlags = ['--max-semi-space-size=16'];

export function startProc(args: string[], env: Record<string, string>, label: string): Proc {
  // BENCH_CPU_PROF=<dir>: Conveyor's processes write V8 CPU profiles there when they stop.
  const prof = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
  const flags = args[0] === 'src/cli.ts' ? [...conveyorFlags, ...prof] : [];
  const child = spawn(node, [...flags, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4000); });
  child.on('exit', (code, signal) => {
    if (code && code !== 0) process.stderr.write(`[${label}] exited ${code ?? signal}: ${stderr}\n`);
  });
  return {
    child,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 15_000).unref();
      }),
  };
}

export async function waitFor(url: string, timeoutMs = 60_000, everyMs = 200): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms`);
}

export interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
}

export async function load(opts: autocannon.Options): Promise<LoadResult> {
  const r = await autocannon({ ...opts });
  // A scenario that answers errors is not a measurement: say so loudly.
  if (r.non2xx > 0 || r.errors > 0) process.stderr.write(`warning: ${opts.url} answered ${r.non2xx} non-2xx and ${r.errors} errors\n`);
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, non2xx: r.non2xx, errors: r.errors + r.timeouts };
}

/** Resident memory of a process in bytes (Linux). */
export function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

/** CPU seconds (user + system) a process has used so far (Linux /proc). */
export function cpuSecondsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (100 Hz)
}

/** CPU seconds used so far by every process with this command name (`postgres`, `redis-server`). */
export function cpuSecondsOfCommand(comm: string): number {
  let total = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === comm) total += cpuSecondsOf(Number(pid));
    } catch {
      /* exited meanwhile */
    }
  }
  return total;
}

/** Sample a process's RSS until stopped; returns the peak. */
export function sampleRss(pid: number, everyMs = 25): { stop(): number } {
  let peak = rssOf(pid);
  const t = setInterval(() => { try { peak = Math.max(peak, rssOf(pid)); } catch { /* exited */ } }, everyMs);
  return { stop: () => { clearInterval(t); return peak; } };
}

export const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
export const pct = (a: number, b: number) => (b > 0 ? `${Math.round((a / b) * 100)}%` : 'n/a');

export function table(rows: (string | number)[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  return rows.map((r) => r.map((c, i) => String(c).padEnd(widths[i]!)).join('  ')).join('\n');
}

export const median = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

export interface Paired {
  conveyor: LoadResult;
  ceiling: LoadResult;
  /** Median over the rounds of the first subject's req/s over the second's in the same round. */
  ratio: number;
}

const medianResult = (rs: LoadResult[]): LoadResult => ({
  rps: median(rs.map((r) => r.rps)), p50: median(rs.map((r) => r.p50)), p99: median(rs.map((r) => r.p99)),
  non2xx: rs.reduce((n, r) => n + r.non2xx, 0), errors: rs.reduce((n, r) => n + r.errors, 0),
});

/**
 * One scenario on two subjects (Conveyor and its ceiling, or two ways into Conveyor): a
 * warm-up each, then `n` loads of `roundSecs` in alternating order (the first subject first in
 * odd rounds, the second in even ones). This VM's speed drifts by a third within minutes, and
 * a ratio of two loads taken seconds apart is what survives it.
 */
export async function alternate(a: autocannon.Options, b: autocannon.Options, conns: number, n: number, roundSecs: number): Promise<Paired> {
  // Warm-up: JIT, pools, prepared statements.
  await load({ ...a, connections: conns, duration: 2 });
  await load({ ...b, connections: conns, duration: 2 });
  const conv: LoadResult[] = [];
  const ceil: LoadResult[] = [];
  for (let i = 0; i < n; i++) {
    const runA = () => load({ ...a, connections: conns, duration: roundSecs }).then((r) => void conv.push(r));
    const runB = () => load({ ...b, connections: conns, duration: roundSecs }).then((r) => void ceil.push(r));
    if (i % 2 === 0) await runA().then(runB);
    else await runB().then(runA);
  }
  return { conveyor: medianResult(conv), ceiling: medianResult(ceil), ratio: median(conv.map((c, i) => c.rps / ceil[i]!.rps)) };
}
