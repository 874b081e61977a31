/**
 * The result follower: the state of tasks sent to Celery workers, read back from Celery's
 * Redis result backend into Conveyor's task table. Celery writes each state with `SETEX` and
 * `PUBLISH` on `celery-task-meta-<id>`; the follower hears the publishes (PSUBSCRIBE) and,
 * because pub/sub keeps nothing for a process that was not listening, also reads every
 * unfinished outbound task's key back (MGET) at start, after a reconnection and every
 * CELERY_FOLLOW_MS. Transitions are idempotent and never leave a finished state (rows.ts),
 * so every worker-running process may follow at once.
 */
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { Type, type Static } from 'typebox';
import { Value } from 'typebox/value';
import type { Database } from '../../db/client.ts';
import { resultKey } from './protocol.ts';
import { applyResults, recordTransitions, unfinishedOutbound, type ResultUpdate } from './rows.ts';

const KEY_PREFIX = resultKey('');

/** What Celery's Redis result backend keeps per task (`celery-task-meta-<id>`). */
export const CeleryResultMeta = Type.Object({
  status: Type.String(),
  result: Type.Optional(Type.Unknown()),
  traceback: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  date_done: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  task_id: Type.String(),
});
export type CeleryResultMeta = Static<typeof CeleryResultMeta>;

/** A FAILURE's / RETRY's / REVOKED's `result`: the exception Python would raise. */
const CeleryException = Type.Object({ exc_type: Type.String(), exc_message: Type.Optional(Type.Unknown()), exc_module: Type.Optional(Type.String()) });

/** `Type: message`, as the task JSON's `error` carries it. */
export function exceptionText(result: unknown): string {
  if (!Value.Check(CeleryException, result)) return typeof result === 'string' ? result : 'error';
  const m = result.exc_message;
  const message = Array.isArray(m) ? m.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))).join(', ') : m == null ? '' : String(m);
  return message ? `${result.exc_type}: ${message}` : result.exc_type;
}

/** Celery 5.2 writes `date_done` as naive UTC. */
export function celeryDate(s: string | null | undefined): Date | null {
  if (!s) return null;
  const d = new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(s) ? s : `${s}Z`);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** A stored or published value as an update; undefined for what changes nothing (PENDING, RECEIVED, junk). */
export function toResultUpdate(raw: string, ttlSeconds: number): ResultUpdate | undefined {
  let meta: unknown;
  try {
    meta = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (!Value.Check(CeleryResultMeta, meta)) return undefined;
  const base = { id: meta.task_id, doneAt: celeryDate(meta.date_done), ttlSeconds };
  const tb = meta.traceback ? { traceback: meta.traceback } : {};
  switch (meta.status) {
    case 'STARTED': {
      // With task_track_started, Celery stores {pid, hostname} as the result.
      const host = (meta.result as { hostname?: unknown } | null | undefined)?.hostname;
      return { ...base, state: 'STARTED', doneAt: null, ...(typeof host === 'string' ? { worker: host } : {}) };
    }
    case 'SUCCESS':
      return { ...base, state: 'SUCCESS', result: meta.result ?? null };
    case 'RETRY':
      return { ...base, state: 'RETRY', error: exceptionText(meta.result), ...tb };
    case 'FAILURE':
      return { ...base, state: 'FAILURE', error: exceptionText(meta.result), ...tb };
    case 'REVOKED':
      return { ...base, state: 'REVOKED', error: exceptionText(meta.result) };
    default:
      return undefined;
  }
}

export interface CeleryFollowerOptions {
  readonly resultUrl: string;
  readonly database: Database;
  readonly logger: Pick<Logger, 'warn' | 'debug'>;
  /** Seconds a finished record is kept (TASK_RESULT_TTL). */
  readonly ttlSeconds: number;
  /** How often unfinished tasks are read back. */
  readonly everyMs: number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function startCeleryFollower(opts: CeleryFollowerOptions): { readonly ready: Promise<void>; stop(): Promise<void> } {
  const { database, logger } = opts;
  const connect = (name: string) => {
    const r = new Redis(opts.resultUrl, { connectionName: name, maxRetriesPerRequest: 2 });
    r.on('error', () => undefined); // ioredis reconnects; the read-back covers the gap
    return r;
  };
  const sub = connect('conveyor-celery-follow');
  const get = connect('conveyor-celery-read');
  let pending: ResultUpdate[] = [];
  let busy: Promise<void> = Promise.resolve();
  let stopped = false;

  const apply = (updates: ResultUpdate[]) =>
    (busy = busy
      .then(async () => {
        if (updates.length === 0) return;
        const made = await applyResults(database.pool, updates);
        await recordTransitions(database.db, database.pool, made);
      })
      .catch((err: unknown) => logger.warn({ err }, 'recording Celery results failed; the read-back tries again')));

  let flushing: NodeJS.Timeout | undefined;
  const heard = (raw: string) => {
    const u = toResultUpdate(raw, opts.ttlSeconds);
    if (!u) return;
    pending.push(u);
    flushing ??= setTimeout(() => {
      flushing = undefined;
      const batch = pending;
      pending = [];
      void apply(batch);
    }, 20);
  };

  let reading = false;
  const readBack = async () => {
    if (reading || stopped) return;
    reading = true;
    try {
      const ids = await unfinishedOutbound(database.pool, 2_000);
      for (let i = 0; i < ids.length; i += 200) {
        const chunk = ids.slice(i, i + 200);
        const values = await get.mget(chunk.map((id) => `${KEY_PREFIX}${id}`));
        await apply(values.flatMap((v) => (v ? [toResultUpdate(v, opts.ttlSeconds)].filter((u): u is ResultUpdate => u !== undefined) : [])));
      }
    } catch (err) {
      logger.warn({ err }, 'reading Celery results back failed; trying again');
    } finally {
      reading = false;
    }
  };

  sub.on('pmessage', (_pattern: string, channel: string, message: string) => {
    if (UUID.test(channel.slice(KEY_PREFIX.length))) heard(message);
  });
  // Publishes missed while the connection was down: read everything unfinished back.
  sub.on('ready', () => void readBack());
  const ready = sub.psubscribe(`${KEY_PREFIX}*`).then(() => readBack());
  ready.catch(() => undefined);
  const timer = setInterval(() => void readBack(), opts.everyMs);
  timer.unref();

  return {
    ready,
    async stop() {
      stopped = true;
      clearInterval(timer);
      clearTimeout(flushing);
      await apply(pending);
      await busy;
      await Promise.all([sub, get].map((r) => r.quit().catch(() => r.disconnect())));
    },
  };
}
