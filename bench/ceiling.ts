/**
 * The ceiling: a bare node:http + pg server answering the benchmarked routes with the
 * same SQL Conveyor runs, and nothing else (no framework, validation, auth or logging).
 * `/api/external` (when EXTERNAL_API_URL is set) is node:http + an undici pool, the same way.
 * Usage: DATABASE_URL=... PORT=... WORKERS=n [EXTERNAL_API_URL=...] node bench/ceiling.ts
 */
import cluster from 'node:cluster';
import http from 'node:http';
import pg from 'pg';
import { Pool as HttpPool } from 'undici';
import { isoMillis } from '../src/modules/items/repository/rows.ts';

pg.types.setTypeParser(20, Number);
const workers = Number(process.env.WORKERS ?? 1);
const port = Number(process.env.PORT ?? 8100);
const poolSize = Number(process.env.DB_POOL_SIZE ?? 20);

if (workers > 1 && cluster.isPrimary) {
  for (let i = 0; i < workers; i++) cluster.fork();
} else {
  const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: Math.max(2, Math.ceil(poolSize / workers)) });
  // Conveyor's SQL and row handling: every column as PostgreSQL's text, timestamps printed
  // as UTC, turned into the item without a Date in between.
  const asText = { getTypeParser: () => (value: string) => value };
  const item = (r: string[]) => ({
    id: Number(r[0]), name: r[1], description: r[2], status: r[3], score: Number(r[4]), created_at: isoMillis(r[5]!), updated_at: isoMillis(r[6]!),
  });
  const cols = `id, name, description, status, score, created_at at time zone 'UTC', updated_at at time zone 'UTC'`;
  const rows = async (name: string, text: string, values: unknown[]) => (await pool.query<string[]>({ name, text, values, rowMode: 'array', types: asText })).rows;
  // GET /api/external: the upstream's JSON through a keep-alive undici pool, parsed and re-sent.
  const upstream = process.env.EXTERNAL_API_URL ? new URL(process.env.EXTERNAL_API_URL) : undefined;
  const upstreamPool = upstream && new HttpPool(upstream.origin, { connections: 1024 });
  const send = (res: http.ServerResponse, status: number, body: unknown) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };
  http
    .createServer(async (req, res) => {
      try {
        const url = new URL(req.url ?? '/', 'http://x');
        const path = url.pathname;
        if (req.method === 'GET' && path === '/api/external' && upstreamPool) {
          const answer = await upstreamPool.request({ method: 'GET', path: upstream!.pathname + upstream!.search });
          return send(res, 200, await answer.body.json());
        }
        if (req.method === 'GET' && path === '/api/items/count') {
          const { rows } = await pool.query({ name: 'count', text: 'select count(*) as count from app.items' });
          return send(res, 200, { count: rows[0].count });
        }
        if (req.method === 'GET' && path === '/api/items') {
          const limit = Number(url.searchParams.get('limit') ?? 100);
          const page = await rows('list', `select ${cols} from app.items order by id limit $1`, [limit + 1]);
          const more = page.length > limit;
          const data = page.slice(0, limit).map(item);
          return send(res, 200, { data, next: more ? data.at(-1)?.id : null });
        }
        const m = /^\/api\/items\/(\d+)$/.exec(path);
        if (req.method === 'GET' && m) {
          const [row] = await rows('get', `select ${cols} from app.items where id = $1 limit 1`, [Number(m[1])]);
          return row ? send(res, 200, item(row)) : send(res, 404, { error: { code: 'not_found' } });
        }
        if (req.method === 'POST' && path === '/api/items') {
          const chunks: Buffer[] = [];
          for await (const c of req) chunks.push(c as Buffer);
          const body = JSON.parse(Buffer.concat(chunks).toString()) as { name: string; description?: string; status?: string; score?: number };
          const [row] = await rows('insert', `insert into app.items (name, description, status, score) values ($1, $2, $3, $4) returning ${cols}`,
            [body.name, body.description ?? '', body.status ?? 'active', body.score ?? 0]);
          res.setHeader('location', `/api/items/${row![0]}`);
          return send(res, 201, item(row!));
        }
        send(res, 404, { error: { code: 'not_found' } });
      } catch (err) {
        send(res, 500, { error: { code: 'internal', message: (err as Error).message } });
      }
    })
    .listen(port, '127.0.0.1');
}
