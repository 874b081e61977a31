/**
 * What a session costs beside a token: `POST /api/tasks` on one Conveyor server (Redis broker,
 * no worker), once with `Authorization: Bearer` and once with the session cookie and its CSRF
 * header, in alternating rounds of the same sitting. Target: the session at ≥ 90% of the token.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { request } from 'undici';
import { alternate, fmt, startProc, waitFor } from './lib.ts';

const redisUrl = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface BenchUser {
  username: string;
  password: string;
  token: string;
}

export interface AuthBenchOptions {
  url: string;
  user: BenchUser;
  processes: number;
  logLevel: string;
  connections: number;
  rounds: number;
  roundSecs: number;
}

/** A session of the bench's user (made by http.ts's prepareDatabase) beside its API token. */
async function sessionOf(base: string, user: BenchUser): Promise<{ cookie: string; csrf: string }> {
  const res = await request(`${base}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: user.username, password: user.password }),
  });
  const { csrf_token: csrf } = (await res.body.json()) as { csrf_token: string };
  const session = [res.headers['set-cookie'] ?? []].flat().find((c) => c.startsWith('conveyor_session='))!.split(';')[0]!;
  return { cookie: `${session}; conveyor_csrf=${csrf}`, csrf };
}

/** Deletes the bench's task keys (its own prefix) from Redis. */
async function dropPrefix(prefix: string): Promise<void> {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

export async function authFigures(o: AuthBenchOptions): Promise<string[][]> {
  const port = 18_000 + Math.floor(Math.random() * 1000);
  const prefix = `bench_auth_${randomBytes(3).toString('hex')}`;
  const env = { DATABASE_URL: o.url, REDIS_URL: redisUrl, TASK_PREFIX: prefix, TASK_QUEUE_LIMIT: '10000000', LOG_LEVEL: o.logLevel };
  const server = startProc(['src/cli.ts', 'serve', '--port', String(port), '--no-worker', '--workers', String(o.processes)], env, 'conveyor');
  const base = `http://127.0.0.1:${port}`;
  try {
    await waitFor(`${base}/healthz`);
    const { cookie, csrf } = await sessionOf(base, o.user);
    const body = JSON.stringify({ name: 'fetch_data', args: { url: 'http://127.0.0.1:9/never-fetched' } });
    const post = (headers: Record<string, string>) => ({ url: base, requests: [{ method: 'POST' as const, path: '/api/tasks', headers: { 'content-type': 'application/json', ...headers }, body }] });
    const paired = await alternate(post({ cookie, 'x-csrf-token': csrf }), post({ authorization: `Bearer ${o.user.token}` }), o.connections, o.rounds, o.roundSecs);
    return [
      [`POST /api/tasks, processes=${o.processes}`, 'req/s', 'p99 ms', 'non-2xx'],
      ['Bearer token', fmt(paired.ceiling.rps), fmt(paired.ceiling.p99), fmt(paired.ceiling.non2xx)],
      [`session cookie + CSRF (${Math.round(paired.ratio * 100)}% of the token; target ≥ 90%)`, fmt(paired.conveyor.rps), fmt(paired.conveyor.p99), fmt(paired.conveyor.non2xx)],
    ];
  } finally {
    await server.stop();
    await dropPrefix(prefix);
  }
}
