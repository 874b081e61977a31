/**
 * The outbound half of the Celery tests: a real `celery worker` (Debian's Celery 5.2 under
 * /usr/bin/python3) on its own Redis database, and Conveyor's own processes beside it. A test
 * that cannot reach PostgreSQL, Redis or python3-celery fails; nothing is skipped.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';

export const PROJECT = fileURLToPath(new URL('.', import.meta.url));
export const TASKS_MODULE = './test/celery/outbound/tasks.ts';
export const PYTHON = '/usr/bin/python3';

export const redisBase = () => process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const celeryUrl = (db: number) => `${redisBase()}/${db}`;

/** A Redis client on `db`, emptied (each Celery test file has its own database among 8–14). */
export async function freshRedis(db: number): Promise<Redis> {
  const r = new Redis(celeryUrl(db), { maxRetriesPerRequest: 1 });
  try {
    await r.flushdb();
  } catch (err) {
    r.disconnect();
    throw new Error(`Redis at ${celeryUrl(db)} is not reachable: ${(err as Error).message}`, { cause: err });
  }
  return r;
}

/** Fails (never skips) when Debian's Celery is missing. */
export function assertCelery(): void {
  try {
    execFileSync(PYTHON, ['-c', 'import celery, redis'], { stdio: 'pipe' });
  } catch (err) {
    throw new Error(`python3-celery and python3-redis are needed for ${PYTHON}: ${(err as Error).message}`, { cause: err });
  }
}

export interface PyWorker {
  readonly child: ChildProcess;
  readonly hostname: string;
  output(): string;
  /** SIGTERM, then wait for the exit (a warm shutdown: it says worker-offline). */
  stop(): Promise<void>;
}

/** `celery worker -P threads -E` on the fixture project, ready to take tasks. */
export async function startPyWorker(db: number, opts: { hostname: string; queues?: string[] }): Promise<PyWorker> {
  const child = spawn(
    PYTHON,
    ['-m', 'celery', '-A', 'proj.tasks', 'worker', '-P', 'threads', '-c', '2', '-E', '-l', 'info', '--without-mingle', '--without-gossip', '--hostname', opts.hostname, ...(opts.queues ? ['-Q', opts.queues.join(',')] : [])],
    { cwd: PROJECT, env: { ...process.env, CELERY_BROKER_URL: celeryUrl(db), PYTHONUNBUFFERED: '1' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const until = Date.now() + 30_000;
  while (!/ ready\./.test(out)) {
    if (child.exitCode !== null) throw new Error(`celery worker exited:\n${out}`);
    if (Date.now() > until) {
      child.kill('SIGKILL');
      throw new Error(`celery worker did not start:\n${out}`);
    }
    await sleep(100);
  }
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    child,
    hostname: opts.hostname,
    output: () => out,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Run Python against the fixture project (e.g. `app.send_task(...)`); answers stdout. */
export function python(db: number, code: string): string {
  return execFileSync(PYTHON, ['-c', code], { cwd: PROJECT, env: { ...process.env, CELERY_BROKER_URL: celeryUrl(db) }, encoding: 'utf8', timeout: 30_000 });
}

export async function until<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

/** A `conveyor` child process (serve, worker, monitor), its output kept. */
export interface ConveyorChild {
  readonly child: ChildProcess;
  output(): string;
  stop(): Promise<number | null>;
}

export function spawnConveyor(args: string[], env: Record<string, string>): ConveyorChild {
  const child = spawn(process.execPath, ['src/cli.ts', ...args], { env: { ...process.env, NODE_ENV: 'test', LOG_LEVEL: 'info', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return {
    child,
    output: () => out,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** Wait until a child's HTTP server answers /healthz. */
export async function healthy(c: ConveyorChild, base: string): Promise<void> {
  await until(`${base} to answer\n${c.output()}`, async () => {
    if (c.child.exitCode !== null) throw new Error(`exited:\n${c.output()}`);
    return (await fetch(`${base}/healthz`)).ok;
  }, 60_000);
}
