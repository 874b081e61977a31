/**
 * `GET /api/tasks` on a large retained history: BENCH_LIST_ROWS task rows (default
 * 1,000,000) written straight into the task table, then pages read over HTTP as a staff
 * user — the first page, pages deep in the history (by cursor), the filters — and `q`
 * searches, each sequentially, with their p50/p99.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { request } from 'undici';
import { createDatabase } from '../src/db/client.ts';
import { createToken, createUser } from '../src/modules/accounts/service.ts';
import { fmt, startProc, table, waitFor } from './lib.ts';

const serverUrl = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';
const ROWS = Number(process.env.BENCH_LIST_ROWS ?? 1_000_000);
const REQUESTS = Number(process.env.BENCH_LIST_REQUESTS ?? 200);

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0;
};

async function admin<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** Rows as a busy deployment leaves them: mostly SUCCESS, some FAILURE/REVOKED/PENDING, three task names, 50 creators. */
async function fill(url: string): Promise<void> {
  const started = performance.now();
  for (let from = 1; from <= ROWS; from += 100_000) {
    const to = Math.min(ROWS, from + 99_999);
    await admin(url, (c) =>
      c.query(`INSERT INTO app.tasks (id, name, queue, state, args, result, created_by, created_at, started_at, finished_at, attempts, dispatched)
        SELECT gen_random_uuid(),
          (ARRAY['fetch_data', 'build_report', 'send_email'])[1 + g % 3],
          'default',
          CASE WHEN g % 50 = 0 THEN 'FAILURE' WHEN g % 97 = 0 THEN 'REVOKED' WHEN g % 211 = 0 THEN 'PENDING' ELSE 'SUCCESS' END,
          jsonb_build_object('url', 'https://api.example.com/orders/' || g || '/lines', 'customer', 'customer-' || (g % 5000)),
          jsonb_build_object('ok', true),
          1 + g % 50,
          now() - make_interval(secs => (${ROWS} - g) / 10.0),
          now() - make_interval(secs => (${ROWS} - g) / 10.0),
          now() - make_interval(secs => (${ROWS} - g) / 10.0 - 0.05),
          1, true
        FROM generate_series(${from}, ${to}) g`),
    );
    process.stderr.write(`\rfilling the task table: ${fmt(to)} / ${fmt(ROWS)} rows`);
  }
  await admin(url, (c) => c.query('VACUUM ANALYZE app.tasks'));
  process.stderr.write(`\rfilled ${fmt(ROWS)} rows in ${fmt((performance.now() - started) / 1000, 1)} s (with VACUUM ANALYZE)\n`);
}

export async function runListBench(): Promise<void> {
  console.log(`\nTask listing: ${fmt(ROWS)} retained tasks, ${REQUESTS} sequential requests per case, over HTTP as staff`);
  const name = `conveyor_bench_${randomBytes(4).toString('hex')}`;
  await admin(serverUrl, (c) => c.query(`CREATE DATABASE ${name}`));
  const url = Object.assign(new URL(serverUrl), { pathname: `/${name}` }).toString();
  const port = 18_000 + Math.floor(Math.random() * 1000);
  try {
    const migrate = startProc(['src/cli.ts', 'migrate'], { DATABASE_URL: url, LOG_LEVEL: 'warn' }, 'migrate');
    await new Promise((r) => migrate.child.on('exit', r));
    await fill(url);
    const database = createDatabase({ url, poolSize: 2, connectTimeoutMs: 5_000 });
    await createUser(database.db, { username: 'bench', password: 'bench-password', isStaff: true });
    const { token } = await createToken(database.db, 'bench');
    await database.close();
    const serve = startProc(['src/cli.ts', 'serve', '--port', String(port), '--no-worker'], { DATABASE_URL: url, REDIS_URL: '', LOG_LEVEL: 'warn' }, 'serve');
    try {
      await waitFor(`http://127.0.0.1:${port}/healthz`);
      const base = `http://127.0.0.1:${port}/api/tasks`;
      const get = async (qs: string) => {
        const t0 = performance.now();
        const res = await request(`${base}?${qs}`, { headers: { authorization: `Bearer ${token}` } });
        const body = (await res.body.json()) as { data: unknown[]; next: string | null };
        if (res.statusCode !== 200) throw new Error(`GET /api/tasks?${qs} answered ${res.statusCode}`);
        return { ms: performance.now() - t0, body };
      };
      // Cursors deep in the history: follow `next` with big pages once, keeping some along the way.
      const deep: string[] = [];
      let after: string | null = null;
      for (let i = 0; i < 10; i++) {
        const { body }: { body: { next: string | null } } = await get(`limit=1000${after ? `&after=${after}` : ''}`);
        after = body.next;
        if (after) deep.push(after);
      }
      const seqCursor = (seq: number) => `s${seq.toString(36)}`;
      const cases: [string, (i: number) => string][] = [
        ['first page (100)', () => 'limit=100'],
        ['a page 1–10,000 tasks deep', (i) => `limit=100&after=${deep[i % deep.length]}`],
        ['a page anywhere in the history', (i) => `limit=100&after=${seqCursor(1 + Math.floor(((i * 7919) % 1000) / 1000 * ROWS))}`],
        ['state=FAILURE', (i) => `limit=100&state=FAILURE${i % 2 ? `&after=${seqCursor(ROWS / 2)}` : ''}`],
        ['name=send_email', () => 'limit=100&name=send_email'],
        ['created_by (one of 50 users)', (i) => `limit=100&created_by=${1 + (i % 50)}`],
        ['a time range', () => `limit=100&created_after=${new Date(Date.now() - 3_600_000).toISOString()}&created_before=${new Date(Date.now() - 1_800_000).toISOString()}`],
        ['q: one task (orders/<n>/)', (i) => `limit=100&q=${encodeURIComponent(`orders/${1 + ((i * 104729) % ROWS)}/lines`)}`],
        ['q: one customer (~200 tasks)', (i) => `limit=100&q=customer-${(i * 37) % 5000}"`],
        ['q: no match', () => 'limit=100&q=nothing-matches-this'],
        ['q: ~22% of tasks (customer-1…)', () => 'limit=100&q=customer-1'],
        ['q: every task (api.example.com)', () => 'limit=100&q=api.example.com'],
      ];
      const rows: (string | number)[][] = [['case', 'p50 ms', 'p99 ms', 'rows/page', 'target']];
      for (const [label, qs] of cases) {
        for (let i = 0; i < 5; i++) await get(qs(i)); // warm
        const ms: number[] = [];
        let rowsSeen = 0;
        for (let i = 0; i < REQUESTS; i++) {
          const r = await get(qs(i));
          ms.push(r.ms);
          rowsSeen += r.body.data.length;
        }
        rows.push([label, fmt(quantile(ms, 0.5), 1), fmt(quantile(ms, 0.99), 1), fmt(rowsSeen / REQUESTS), label.startsWith('q:') ? '≤ 200 ms' : 'p99 ≤ 20 ms']);
      }
      console.log(`\n${table(rows)}`);
    } finally {
      await serve.stop();
    }
  } finally {
    await admin(serverUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  }
}
