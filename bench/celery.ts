/**
 * `npm run bench -- celery`: 10,000 Celery messages (sent once by Python's Celery, then the
 * same list items pushed again for each contestant) drained from Redis by a `conveyor worker`
 * (CELERY_BROKER_URL set; Conveyor's own engine on Redis), beside Python Celery workers
 * (`-P prefork`, `-P threads`) running the equivalent trivial task. Each contestant starts
 * first, then the messages are pushed; the clock runs from the push to the 10,000th SUCCESS
 * published by the result backend. Redis db 6 (kombu's keys are per database).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { Redis } from 'ioredis';
import { fmt, table } from './lib.ts';
import { openSite } from './tasks.ts';

const N = Number(process.env.BENCH_CELERY_MESSAGES ?? 10_000);
const DB = 6;
const QUEUE = 'bench';
const PYTHON = '/usr/bin/python3';
const redisBase = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const broker = `${redisBase}/${DB}`;
const here = path.join(import.meta.dirname, 'celery');

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.once('exit', () => r()));
}

async function stop(child: ChildProcess): Promise<void> {
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited(child);
  clearTimeout(t);
}

/** Spawn, resolving once a line of its output matches `ready`. */
function start(cmd: string, args: string[], env: Record<string, string>, ready: RegExp, cwd = process.cwd()): Promise<ChildProcess> {
  const child = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const on = (d: Buffer) => {
      out = (out + d.toString()).slice(-20_000);
      if (ready.test(out)) resolve(child);
    };
    child.stdout!.on('data', on);
    child.stderr!.on('data', on);
    child.once('exit', (code) => reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${out.slice(-2000)}`)));
    setTimeout(() => reject(new Error(`${cmd} did not start: ${out.slice(-2000)}`)), 60_000).unref();
  });
}

/** Push the messages onto the queue and time until N SUCCESS results are published. */
async function drain(redis: Redis, items: readonly string[]): Promise<number> {
  const sub = redis.duplicate();
  let done = 0;
  let resolve!: () => void;
  const all = new Promise<void>((r) => (resolve = r));
  await sub.psubscribe('celery-task-meta-*');
  sub.on('pmessage', (_p, _c, msg) => {
    if (msg.includes('"SUCCESS"') && ++done === items.length) resolve();
  });
  const began = performance.now();
  for (let i = 0; i < items.length; i += 1_000) await redis.lpush(QUEUE, ...items.slice(i, i + 1_000));
  await all;
  const seconds = (performance.now() - began) / 1000;
  sub.disconnect();
  return items.length / seconds;
}

export async function runCeleryBench(): Promise<void> {
  const redis = new Redis(broker);
  await redis.flushdb();
  // The messages, as Python's Celery sends them, kept to be pushed again for each contestant.
  await new Promise<void>((resolve, reject) => {
    const p = spawn(PYTHON, [path.join(here, 'app.py'), broker, String(N), QUEUE], { cwd: here, stdio: 'inherit' });
    p.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`producer exited ${code}`))));
  });
  const items = (await redis.lrange(QUEUE, 0, -1)).reverse(); // oldest first: lpush keeps the order
  if (items.length !== N) throw new Error(`expected ${N} messages, found ${items.length}`);
  const reset = async () => {
    await redis.flushdb();
  };
  console.log(`\ncelery: ${fmt(N)} messages of proj.tasks.add(i, 1), JSON protocol 2, Redis db ${DB}; machine shared and noisy, one sitting`);
  const rows: (string | number)[][] = [['contestant', 'concurrency', 'msgs/s']];
  const results: Record<string, number> = {};

  // Conveyor: `conveyor worker` with the Celery consumer; its own engine on BullMQ/Redis.
  await reset();
  const site = await openSite('redis');
  const conveyorConcurrency = Number(process.env.BENCH_CELERY_CONCURRENCY ?? 16);
  const worker = await start(process.execPath, ['--max-semi-space-size=16', 'src/cli.ts', 'worker', '--include', './bench/celery/tasks.ts', '--concurrency', String(conveyorConcurrency)], {
    ...site.env,
    LOG_LEVEL: 'info',
    CELERY_BROKER_URL: broker,
    CELERY_QUEUES: QUEUE,
  }, /consuming Celery messages/);
  results.conveyor = await drain(redis, items);
  rows.push(['Conveyor `conveyor worker`', String(conveyorConcurrency), fmt(results.conveyor)]);
  await stop(worker);
  await site.close();

  for (const [pool, concurrency] of [['prefork', 2], ['threads', 16]] as const) {
    await reset();
    const py = await start(PYTHON, ['-m', 'celery', '-A', 'app', 'worker', '-Q', QUEUE, '-P', pool, '-c', String(concurrency), '--without-gossip', '--without-mingle', '--without-heartbeat', '-n', `bench-${pool}@%h`, '--loglevel', 'info'], { CELERY_BENCH_BROKER: broker }, /ready\./, here);
    results[pool] = await drain(redis, items);
    rows.push([`Python Celery -P ${pool}`, String(concurrency), fmt(results[pool])]);
    await stop(py);
  }
  await redis.flushdb();
  redis.disconnect();
  console.log(table(rows));
  console.log(`Conveyor / Python prefork: ${fmt(results.conveyor! / results.prefork!, 2)}×; Conveyor / Python threads: ${fmt(results.conveyor! / results.threads!, 2)}×`);
}
